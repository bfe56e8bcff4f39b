// SPDX-License-Identifier: GPL-2.0
// kms_fs in a real kernel: a filesystem type that a module registers. What
// mount(2) does when no loaded module offers "kmsfs" (it asks modprobe for
// fs-kmsfs, and the module loads), what /proc/filesystems and /proc/mounts
// show, that files and directories written to a kmsfs read back and that a
// new mount starts empty, that the data sits in unevictable page-cache
// pages which umount frees, that the VFS refuses a mount option kmsfs does
// not take, and the lifetime rule: every kmsfs superblock holds a reference
// on the module (lsmod's "Used by"), so rmmod is refused while one exists,
// even one that a lazy umount detached while a file on it stays open, and
// succeeds once the last one is gone, leaving nothing behind.
#include "guest_suite.hpp"

#include <fmt/format.h>

#include <string>
#include <utility>
#include <vector>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_fs"}); });
}

// The lines of /proc/mounts of kmsfs mounts.
std::vector<std::string> kmsfs_mounts(Guest& g)
{
    return lines_with(g.read("/proc/mounts"), " kmsfs ");
}

std::string refcount(Guest& g)
{
    return g.read("/sys/module/kms_fs/refcnt");
}

// /proc/meminfo's "Unevictable:", in kB.
long unevictable_kb(Guest& g)
{
    auto line = lines_with(g.read("/proc/meminfo"), "Unevictable:");
    REQUIRE(line.size() == 1);
    auto fields = words(line[0]);
    REQUIRE(fields.size() == 3);
    return std::stol(fields[1]);
}

// Waits, up to 5 s, while /proc/meminfo's Unevictable compares to `kb` as
// `test_operator` ("-lt", "-gt") says: the count settles a moment late.
void wait_while_unevictable(Guest& g, std::string_view test_operator, long kb)
{
    REQUIRE(g.run(fmt::format("i=0\n"
                              "while [ $(awk '/^Unevictable:/ {{print $2}}' /proc/meminfo) {} {} ] "
                              "&& [ $i -lt 100 ]; do\n"
                              "    sleep 0.05; i=$((i + 1))\n"
                              "done\n",
                              test_operator, kb))
                .status == 0);
}

// When a test case ends, also half-way through: kills the process it left
// holding a file open, detaches every kmsfs and unloads kms_fs, so that
// the next case starts with no kmsfs and no kms_fs.
class CleanUpAtEnd {
public:
    explicit CleanUpAtEnd(Guest& g) : guest_{g} {}
    CleanUpAtEnd(const CleanUpAtEnd&) = delete;
    CleanUpAtEnd& operator=(const CleanUpAtEnd&) = delete;
    ~CleanUpAtEnd()
    {
        try {
            // Every kmsfs holds kms_fs: without it there is none to undo.
            if (!is_loaded(guest_, "kms_fs"))
                return;
            if (!holder_.empty())
                guest_.run("kill " + holder_ + " 2>/dev/null; true");
            guest_.run("for m in $(awk '$3 == \"kmsfs\" {print $2}' /proc/mounts); do "
                       "umount -l \"$m\"; done\n" +
                       wait_for_refcount_script("kms_fs", 0));
            guest_.rmmod("kms_fs");
        } catch (...) {
            // The next case finds kms_fs loaded and says so.
        }
    }
    void holder(std::string pid) { holder_ = std::move(pid); }

private:
    Guest& guest_;
    std::string holder_;
};

}  // namespace

TEST_CASE("mount -t kmsfs loads kms_fs through its fs-kmsfs alias", "[fs]")
{
    auto& g = guest();
    CleanUpAtEnd cleanup{g};
    REQUIRE_FALSE(is_loaded(g, "kms_fs"));

    // MODULE_ALIAS_FS("kmsfs") wrote the alias; depmod, at the boot pass,
    // indexed it.
    auto alias = g.run("modinfo -F alias kms_fs.ko");
    REQUIRE(alias.status == 0);
    CHECK(alias.out == "fs-kmsfs\n");
    CHECK_THAT(g.read("/lib/modules/" + g.release() + "/modules.alias"),
               Contains("alias fs-kmsfs kms_fs\n"));
    // What the kernel's request_module() runs: it must exist.
    CHECK(g.read("/proc/sys/kernel/modprobe") == "/sbin/modprobe\n");
    CHECK(g.run("test -x /sbin/modprobe").status == 0);

    // No loaded module offers kmsfs: mount(2) asks for fs-kmsfs, and
    // mounts once the module has registered the name.
    CommandResult mount;
    auto log = kernel_log_during(g, [&] { mount = g.run("mkdir -p /mnt && mount -t kmsfs none /mnt"); });
    REQUIRE(mount.status == 0);
    CHECK_THAT(log, Contains("kms_fs: registered filesystem kmsfs"));
    CHECK(is_loaded(g, "kms_fs"));
    CHECK(kmsfs_mounts(g) == std::vector<std::string>{"none /mnt kmsfs rw,relatime 0 0"});

    REQUIRE(g.run("umount /mnt").status == 0);
    CHECK(kmsfs_mounts(g).empty());
    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.rmmod("kms_fs").ok()); });
    CHECK_THAT(unloaded, Contains("kms_fs: unregistered filesystem kmsfs"));
    CHECK_HEALTHY(g);
}

TEST_CASE("files and directories written to a kmsfs read back, and a new mount starts empty",
          "[fs]")
{
    auto& g = guest();
    CleanUpAtEnd cleanup{g};
    REQUIRE(g.insmod("kms_fs").ok());
    REQUIRE(g.run("mkdir -p /mnt && mount -t kmsfs none /mnt").status == 0);

    REQUIRE(g.run("echo hi > /mnt/f && mkdir /mnt/d && echo there > /mnt/d/g").status == 0);
    CHECK(g.run("cat /mnt/f").out == "hi\n");
    CHECK(g.run("cat /mnt/d/g").out == "there\n");
    CHECK(g.run("ls /mnt").out == "d\nf\n");
    CHECK(g.run("ls /mnt/d").out == "g\n");
    // Sizes, and links: a directory has one from its parent, one from its
    // own ".", and one from each subdirectory's "..".
    auto stat = g.run("stat -c '%n %s %h %F' /mnt /mnt/f /mnt/d /mnt/d/g");
    REQUIRE(stat.status == 0);
    CHECK(stat.out == "/mnt 0 3 directory\n"
                      "/mnt/f 3 1 regular file\n"
                      "/mnt/d 0 2 directory\n"
                      "/mnt/d/g 6 1 regular file\n");
    // statfs(2) reports the superblock's magic number, "kmsf".
    CHECK(g.run("stat -f -c %t /mnt").out == "6b6d7366\n");

    // A megabyte in and out, through the page cache; simple_getattr()
    // counts the pages that hold it.
    auto copy = g.run("dd if=/dev/urandom of=/tmp/blob bs=1024 count=1000 2>/dev/null && "
                      "cp /tmp/blob /mnt/blob && cmp /tmp/blob /mnt/blob");
    CHECK(copy.status == 0);
    CHECK(g.run("du -k /mnt/blob").out == "1000\t/mnt/blob\n");

    // Names go as they came, through the simple_ helpers.
    auto full = g.run("rmdir /mnt/d");
    CHECK(full.status != 0);
    CHECK_THAT(full.err, Contains("Directory not empty"));
    REQUIRE(g.run("rm /mnt/d/g && rmdir /mnt/d && mv /mnt/f /mnt/renamed").status == 0);
    CHECK(g.run("ls /mnt").out == "blob\nrenamed\n");
    CHECK(g.run("cat /mnt/renamed").out == "hi\n");

    // The page cache was the only copy: a new mount is a new, empty kmsfs.
    REQUIRE(g.run("umount /mnt && mount -t kmsfs none /mnt").status == 0);
    auto empty = g.run("ls -A /mnt");
    REQUIRE(empty.status == 0);
    CHECK(empty.out.empty());

    REQUIRE(g.run("umount /mnt").status == 0);
    REQUIRE(g.rmmod("kms_fs").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("a kmsfs keeps its data in unevictable pages, and umount gives them back", "[fs]")
{
    auto& g = guest();
    CleanUpAtEnd cleanup{g};
    REQUIRE(g.insmod("kms_fs").ok());
    // New pages wait in per-CPU batches before they reach the unevictable
    // list, and /proc/meminfo folds each CPU's count in batches too: it
    // may lag some dozens of pages behind for a moment, never a megabyte.
    constexpr long lag_kb = 256;
    const long before = unevictable_kb(g);

    REQUIRE(g.run("mkdir -p /mnt && mount -t kmsfs none /mnt && "
                  "dd if=/dev/zero of=/mnt/big bs=1024 count=4096 2>/dev/null")
                .status == 0);
    // mapping_set_unevictable(): reclaim does not even look at them.
    INFO("Unevictable before: " << before << " kB");
    wait_while_unevictable(g, "-lt", before + 4096 - lag_kb);
    CHECK(unevictable_kb(g) >= before + 4096 - lag_kb);

    // kill_sb() drops the pinned dentries, their inodes and their pages.
    REQUIRE(g.run("umount /mnt").status == 0);
    wait_while_unevictable(g, "-gt", before);
    CHECK(unevictable_kb(g) <= before + lag_kb);

    REQUIRE(g.rmmod("kms_fs").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("/proc/filesystems lists kmsfs while kms_fs is loaded, and not after", "[fs]")
{
    auto& g = guest();
    CleanUpAtEnd cleanup{g};
    REQUIRE_FALSE(is_loaded(g, "kms_fs"));
    CHECK(lines_with(g.read("/proc/filesystems"), "kmsfs").empty());

    REQUIRE(g.insmod("kms_fs").ok());
    // "nodev": no block device behind it.
    CHECK(lines_with(g.read("/proc/filesystems"), "kmsfs") ==
          std::vector<std::string>{"nodev\tkmsfs"});

    REQUIRE(g.rmmod("kms_fs").ok());
    CHECK(lines_with(g.read("/proc/filesystems"), "kmsfs").empty());
    CHECK_FALSE(exists(g, "/sys/module/kms_fs"));
    CHECK_HEALTHY(g);
}

TEST_CASE("a mounted kmsfs holds kms_fs: Used by 1, rmmod refused; after umount rmmod works",
          "[fs]")
{
    auto& g = guest();
    CleanUpAtEnd cleanup{g};
    REQUIRE(g.insmod("kms_fs").ok());
    // Module Size Used-by: nothing holds it yet.
    auto idle = words(line_of(g.run("lsmod").out, "kms_fs"));
    REQUIRE(idle.size() == 3);
    CHECK(idle[2] == "0");

    REQUIRE(g.run("mkdir -p /mnt/a /mnt/b && mount -t kmsfs none /mnt/a").status == 0);
    // The superblock holds it: a count, and no module's name.
    auto mounted = words(line_of(g.run("lsmod").out, "kms_fs"));
    REQUIRE(mounted.size() == 3);
    CHECK(mounted[2] == "1");
    CHECK(refcount(g) == "1\n");
    check_rmmod_refused_in_use(g, "kms_fs");

    // One reference per superblock: each mount makes its own kmsfs.
    REQUIRE(g.run("mount -t kmsfs none /mnt/b").status == 0);
    CHECK(refcount(g) == "2\n");
    REQUIRE(g.run("echo a > /mnt/a/only-here").status == 0);
    auto other = g.run("ls -A /mnt/b");
    REQUIRE(other.status == 0);
    CHECK(other.out.empty());
    REQUIRE(g.run("umount /mnt/b").status == 0);
    CHECK(refcount(g) == "1\n");
    check_rmmod_refused_in_use(g, "kms_fs");

    // The last umount ends the last superblock, and kill_sb() the reference.
    REQUIRE(g.run("umount /mnt/a").status == 0);
    CHECK(refcount(g) == "0\n");
    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.rmmod("kms_fs").ok()); });
    CHECK_THAT(unloaded, Contains("kms_fs: unregistered filesystem kmsfs"));
    CHECK_FALSE(is_loaded(g, "kms_fs"));
    CHECK(lines_with(g.read("/proc/filesystems"), "kmsfs").empty());
    CHECK_HEALTHY(g);
}

TEST_CASE("the superblock, not the mount, holds kms_fs: a lazy umount with a file open keeps it",
          "[fs]")
{
    auto& g = guest();
    CleanUpAtEnd cleanup{g};
    REQUIRE(g.insmod("kms_fs").ok());
    REQUIRE(g.run("mkdir -p /mnt && mount -t kmsfs none /mnt && echo kept > /mnt/f").status == 0);

    // A process holds /mnt/f open past this command; wait until it does.
    auto held = g.run("sleep 1000 < /mnt/f > /dev/null 2>&1 &\n"
                      "pid=$!\n"
                      "i=0\n"
                      "while [ \"$(readlink /proc/$pid/fd/0)\" != /mnt/f ] && [ $i -lt 100 ]; do\n"
                      "    sleep 0.05; i=$((i + 1))\n"
                      "done\n"
                      "echo $pid\n");
    REQUIRE(held.status == 0);
    auto pid = trimmed(held.out);
    REQUIRE_FALSE(pid.empty());
    cleanup.holder(pid);
    REQUIRE(trimmed(g.run("readlink /proc/" + pid + "/fd/0").out) == "/mnt/f");
    // An open file holds the mount, not the module.
    CHECK(refcount(g) == "1\n");

    auto busy = g.run("umount /mnt");
    CHECK(busy.status != 0);
    CHECK(kmsfs_mounts(g).size() == 1);

    // umount -l detaches the mount now; the superblock lives on for the
    // open file, and so does its reference on the module.
    REQUIRE(g.run("umount -l /mnt").status == 0);
    CHECK(kmsfs_mounts(g).empty());
    CHECK(g.run("cat /proc/" + pid + "/fd/0").out == "kept\n");
    CHECK(refcount(g) == "1\n");
    check_rmmod_refused_in_use(g, "kms_fs");

    // The last close ends the superblock.
    REQUIRE(g.run("kill " + pid + "\n" + wait_for_refcount_script("kms_fs", 0)).status == 0);
    cleanup.holder("");
    CHECK(refcount(g) == "0\n");
    REQUIRE(g.rmmod("kms_fs").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("kmsfs takes no mount options: the VFS refuses one, the kernel log says why", "[fs]")
{
    auto& g = guest();
    CleanUpAtEnd cleanup{g};
    REQUIRE(g.insmod("kms_fs").ok());

    // busybox's mount calls mount(2), whose context logs to the kernel log
    // (a caller of fsconfig(2) would read the message from its fd).
    CommandResult mount;
    auto log = kernel_log_during(g, [&] {
        mount = g.run("mkdir -p /mnt && busybox mount -t kmsfs -o size=1M none /mnt");
    });
    CHECK(mount.status != 0);
    CHECK_THAT(mount.err, Contains("Invalid argument"));
    // Without ->parse_param, vfs_parse_fs_param() knows only "source".
    CHECK_THAT(log, Contains("kmsfs: Unknown parameter 'size'"));
    CHECK(kmsfs_mounts(g).empty());
    // The mount context held the module while it lived; it is gone.
    CHECK(refcount(g) == "0\n");

    REQUIRE(g.rmmod("kms_fs").ok());
    CHECK_HEALTHY(g);
}
