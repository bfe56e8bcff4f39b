// SPDX-License-Identifier: GPL-2.0
// greeter in every kernel it was built for: loads, logs, unloads, and
// leaves the kernel healthy.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <kmsdk/built_modules.hpp>
#include <kmsdk/guest.hpp>

using Catch::Matchers::Contains;

TEST_CASE("greeter loads and unloads in a real kernel")
{
    auto builds = kmsdk::built_modules(GREETER_MODULES_DIR, "greeter.ko");
    REQUIRE_FALSE(builds.empty());
    for (const auto& build : builds) {
        SECTION(build.release)
        {
            kmsdk::Guest guest{kmsdk::GuestOptions{}.kernel(build.release).module(build.ko)};
            auto loaded = guest.insmod("greeter");
            REQUIRE(loaded.ok());
            CHECK_THAT(guest.dmesg(), Contains("greeter: loaded"));
            REQUIRE(guest.rmmod("greeter").ok());
            CHECK_THAT(guest.dmesg(), Contains("greeter: unloaded"));
            CHECK_NOTHROW(guest.check_healthy());
        }
    }
}
