// SPDX-License-Identifier: GPL-2.0
// kms_params in a real guest of every kernel it was built for: values given
// at load reach the module and sysfs, a writable parameter changes at run
// time, and a value the module cannot take is refused, at load and later.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <kmsdk/built_modules.hpp>
#include <kmsdk/guest.hpp>

using Catch::Matchers::Contains;

TEST_CASE("kms_params takes its parameters at load and through sysfs")
{
    auto builds = kmsdk::built_modules(MODULES_DIR, "kms_params.ko");
    REQUIRE_FALSE(builds.empty());
    for (const auto& build : builds) {
        SECTION(build.release)
        {
            kmsdk::Guest guest{kmsdk::GuestOptions{}.kernel(build.release).module(build.ko)};
            const std::string parameters = "/sys/module/kms_params/parameters/";

            auto refused = guest.insmod("kms_params", "number=abc");
            CHECK(refused.error == EINVAL);
            CHECK_THAT(guest.dmesg(), Contains("kms_params: `abc' invalid for parameter `number'"));

            auto mark = guest.log_mark();
            REQUIRE(guest.insmod("kms_params", "number=7 word=tests values=3,4,5").ok());
            CHECK(guest.read(parameters + "number") == "7\n");
            CHECK(guest.read(parameters + "word") == "tests\n");
            CHECK(guest.read(parameters + "values") == "3,4,5\n");
            CHECK_THAT(guest.dmesg_since(mark), Contains("kms_params: values=3,4,5 (3 of 4)"));

            guest.write(parameters + "level", "2");
            CHECK(guest.read(parameters + "level") == "2\n");
            CHECK_THROWS_WITH(guest.write(parameters + "level", "9"), Contains("Invalid argument"));
            CHECK(guest.read(parameters + "level") == "2\n");

            REQUIRE(guest.rmmod("kms_params").ok());
            CHECK_NOTHROW(guest.check_healthy());
        }
    }
}
