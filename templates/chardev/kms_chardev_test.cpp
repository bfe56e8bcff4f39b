// SPDX-License-Identifier: GPL-2.0
// kms_chardev in a real guest of every kernel it was built for: the module
// makes /dev/kms_chardev, which keeps what is written to it and gives it
// back to cat and dd as any file would, and removes it at unload.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <kmsdk/built_modules.hpp>
#include <kmsdk/guest.hpp>

using Catch::Matchers::Contains;

TEST_CASE("/dev/kms_chardev keeps what is written to it")
{
    auto builds = kmsdk::built_modules(MODULES_DIR, "kms_chardev.ko");
    REQUIRE_FALSE(builds.empty());
    for (const auto& build : builds) {
        SECTION(build.release)
        {
            kmsdk::Guest guest{kmsdk::GuestOptions{}.kernel(build.release).module(build.ko)};
            auto mark = guest.log_mark();
            REQUIRE(guest.insmod("kms_chardev").ok());
            REQUIRE(guest.run("test -c /dev/kms_chardev").ok());

            REQUIRE(guest.run("echo hello world > /dev/kms_chardev").ok());
            auto whole = guest.run("cat /dev/kms_chardev");
            CHECK(whole.status == 0);
            CHECK(whole.out == "hello world\n");
            auto part = guest.run("dd if=/dev/kms_chardev bs=1 skip=6 count=5 2>/dev/null");
            CHECK(part.out == "world");

            REQUIRE(guest.rmmod("kms_chardev").ok());
            CHECK(guest.run("test -e /dev/kms_chardev").status == 1);
            auto log = guest.dmesg_since(mark);
            CHECK_THAT(log, Contains("kms_chardev: removed /dev/kms_chardev"));
            CHECK_NOTHROW(guest.check_healthy());
        }
    }
}
