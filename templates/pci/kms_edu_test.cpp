// SPDX-License-Identifier: GPL-2.0
// kms_edu in a real guest of every kernel it was built for, with QEMU's edu
// device: the guest's boot pass loads the driver by the device's modalias,
// as udev would; it binds the device, reports it in dmesg, makes
// /dev/kms_edu and its sysfs attributes, and lets go of it at unload.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <kmsdk/built_modules.hpp>
#include <kmsdk/guest.hpp>

#include <algorithm>

using Catch::Matchers::Contains;
using Catch::Matchers::Matches;

TEST_CASE("kms_edu binds to QEMU's edu device")
{
    auto builds = kmsdk::built_modules(MODULES_DIR, "kms_edu.ko");
    REQUIRE_FALSE(builds.empty());
    for (const auto& build : builds) {
        SECTION(build.release)
        {
            kmsdk::Guest guest{
                kmsdk::GuestOptions{}.kernel(build.release).module(build.ko).device("edu")};
            auto loaded = guest.loaded_modules();
            REQUIRE(std::find(loaded.begin(), loaded.end(), "kms_edu") != loaded.end());
            CHECK(guest.run("test -c /dev/kms_edu").ok());
            CHECK_THAT(guest.dmesg(), Contains(", /dev/kms_edu"));

            // The attributes hang off the PCI device the driver bound.
            auto mode = guest.run("cat /sys/bus/pci/drivers/kms_edu/*/irq_mode");
            REQUIRE(mode.ok());
            CHECK_THAT(mode.out, Matches("(msi|intx)\n"));

            auto mark = guest.log_mark();
            auto removed = guest.rmmod("kms_edu");
            INFO(removed.message);
            REQUIRE(removed.ok());
            CHECK(guest.run("test -e /dev/kms_edu").status == 1);
            CHECK_THAT(guest.dmesg_since(mark), Contains("removed; "));
            CHECK_NOTHROW(guest.check_healthy());
        }
    }
}
