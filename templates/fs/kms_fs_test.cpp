// SPDX-License-Identifier: GPL-2.0
// kms_fs in a real guest of every kernel it was built for: the filesystem
// kmsfs is registered at load, mounts, keeps files and folders, holds the
// module while mounted, and goes at unload.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <kmsdk/built_modules.hpp>
#include <kmsdk/guest.hpp>

#include <cerrno>

using Catch::Matchers::Contains;

TEST_CASE("kmsfs mounts and keeps files")
{
    auto builds = kmsdk::built_modules(MODULES_DIR, "kms_fs.ko");
    REQUIRE_FALSE(builds.empty());
    for (const auto& build : builds) {
        SECTION(build.release)
        {
            kmsdk::Guest guest{kmsdk::GuestOptions{}.kernel(build.release).module(build.ko)};
            auto mark = guest.log_mark();
            REQUIRE(guest.insmod("kms_fs").ok());
            CHECK_THAT(guest.read("/proc/filesystems"), Contains("nodev\tkmsfs\n"));

            auto used = guest.run(
                "mkdir -p /mnt/kmsfs && mount -t kmsfs none /mnt/kmsfs && "
                "echo hi > /mnt/kmsfs/f && mkdir /mnt/kmsfs/d && echo there > /mnt/kmsfs/d/g && "
                "cat /mnt/kmsfs/f /mnt/kmsfs/d/g");
            REQUIRE(used.ok());
            CHECK(used.out == "hi\nthere\n");

            auto busy = guest.rmmod("kms_fs");
            CHECK(busy.error == EBUSY);
            REQUIRE(guest.run("umount /mnt/kmsfs").ok());
            REQUIRE(guest.rmmod("kms_fs").ok());
            CHECK_THAT(guest.dmesg_since(mark), Contains("kms_fs: unregistered filesystem kmsfs"));
            CHECK_NOTHROW(guest.check_healthy());
        }
    }
}
