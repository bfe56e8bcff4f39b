// SPDX-License-Identifier: GPL-2.0
// kms_hello in a real guest of every kernel it was built for: it loads with
// a parameter, greets in dmesg, says goodbye at unload, and leaves the
// kernel healthy.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <kmsdk/built_modules.hpp>
#include <kmsdk/guest.hpp>

using Catch::Matchers::Contains;

TEST_CASE("kms_hello greets at load and at unload")
{
    auto builds = kmsdk::built_modules(MODULES_DIR, "kms_hello.ko");
    REQUIRE_FALSE(builds.empty());
    for (const auto& build : builds) {
        SECTION(build.release)
        {
            kmsdk::Guest guest{kmsdk::GuestOptions{}.kernel(build.release).module(build.ko)};
            auto mark = guest.log_mark();
            auto loaded = guest.insmod("kms_hello", "whom=tests");
            REQUIRE(loaded.ok());
            CHECK(guest.read("/sys/module/kms_hello/parameters/whom") == "tests\n");
            REQUIRE(guest.rmmod("kms_hello").ok());
            auto log = guest.dmesg_since(mark);
            CHECK_THAT(log, Contains("kms_hello: hello, tests"));
            CHECK_THAT(log, Contains("kms_hello: goodbye, tests"));
            CHECK_NOTHROW(guest.check_healthy());
        }
    }
}
