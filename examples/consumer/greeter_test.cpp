// SPDX-License-Identifier: GPL-2.0
// greeter in every kernel it was built for: loads, logs, unloads, and
// leaves the kernel healthy.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <kmsdk/guest.hpp>

#include <filesystem>

using Catch::Matchers::Contains;

TEST_CASE("greeter loads and unloads in a real kernel")
{
    int kernels = 0;
    for (const auto& kernel : kmsdk::Kernel::list()) {
        auto ko = std::filesystem::path{GREETER_MODULES_DIR} / kernel.release() / "greeter.ko";
        if (!std::filesystem::exists(ko))
            continue;
        ++kernels;
        SECTION(kernel.release())
        {
            kmsdk::Guest guest{kmsdk::GuestOptions{}.kernel(kernel.release()).module(ko)};
            auto loaded = guest.insmod("greeter");
            REQUIRE(loaded.ok());
            CHECK_THAT(guest.dmesg(), Contains("greeter: loaded"));
            REQUIRE(guest.rmmod("greeter").ok());
            CHECK_THAT(guest.dmesg(), Contains("greeter: unloaded"));
            CHECK_NOTHROW(guest.check_healthy());
        }
    }
    CHECK(kernels > 0);
}
