// SPDX-License-Identifier: GPL-2.0
// kms_sysfs in a real kernel: attributes on a kobject. Loading makes
// /sys/kernel/kms_sysfs with value and range (0644) and writes (0444), and
// rmmod takes the directory away. What echo writes, cat reads back, and it
// stays until the next write; a store that refuses junk makes write(2)
// fail with EINVAL, which busybox's echo words "Invalid argument" and
// dash's echo "I/O error"; the read-only file cannot even be opened for
// writing, not by root either, until a chmod, and then the write fails
// with EIO for want of a store(); range's two halves change together and
// stay in order, also under a concurrent writer; and a file left open
// across rmmod holds nothing, and reads ENODEV afterwards.
#include "guest_suite.hpp"

#include <fmt/format.h>

#include <chrono>
#include <string>

using namespace kmsdk;
using namespace kmsdk::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_sysfs"}); });
}

const std::string dir = "/sys/kernel/kms_sysfs";
const std::string value_file = dir + "/value";
const std::string range_file = dir + "/range";
const std::string writes_file = dir + "/writes";

// `echo <text> > <file>` in the guest's shell (dash), or with busybox's
// echo applet when `applet` is set: the two word the same errno apart.
CommandResult echo_into(Guest& g, const std::string& file, const std::string& text,
                        bool applet = false)
{
    return g.run(fmt::format("{}echo '{}' > {}", applet ? "busybox " : "", text, file), 10s);
}

}  // namespace

TEST_CASE("insmod makes /sys/kernel/kms_sysfs with three attributes and their modes; rmmod takes "
          "it away",
          "[sysfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_sysfs"};
    REQUIRE_FALSE(exists(g, dir));

    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_sysfs").ok()); });
    CHECK_THAT(loaded, Contains("kms_sysfs: created /sys/kernel/kms_sysfs"));
    // __ATTR_RW is 0644 and __ATTR_RO 0444; the kobject's directory 0755.
    auto modes = g.run(fmt::format("cd {} && stat -c '%a %n' . *", dir));
    REQUIRE(modes.ok());
    CHECK(modes.out == "755 .\n644 range\n644 value\n444 writes\n");
    // A sysfs file claims a page's size: what one show() may fill.
    CHECK(g.run(fmt::format("cd {} && stat -c '%s %n' *", dir)).out ==
          "4096 range\n4096 value\n4096 writes\n");
    CHECK(g.read(value_file) == "0\n");
    CHECK(g.read(range_file) == "0 0\n");
    CHECK(g.read(writes_file) == "0\n");

    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.rmmod("kms_sysfs").ok()); });
    CHECK_THAT(unloaded, Contains("kms_sysfs: removed /sys/kernel/kms_sysfs"));
    CHECK_FALSE(exists(g, dir));
    auto gone = g.run("ls " + dir);
    CHECK(gone.status != 0);
    CHECK(gone.err == "ls: /sys/kernel/kms_sysfs: No such file or directory\n");
    CHECK_HEALTHY(g);
}

TEST_CASE("a value written with echo reads back with cat, stays until the next write, and "
          "starts from 0 again after a reload",
          "[sysfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_sysfs"};
    REQUIRE(g.insmod("kms_sysfs").ok());

    REQUIRE(echo_into(g, value_file, "42").ok());
    CHECK(g.run("cat " + value_file).out == "42\n");
    CHECK(g.run("cat " + value_file).out == "42\n");
    // kstrtoint() with base 0: a sign, and 0x or 0 for hex and octal.
    REQUIRE(echo_into(g, value_file, "-7").ok());
    CHECK(g.read(value_file) == "-7\n");
    REQUIRE(echo_into(g, value_file, "0x10").ok());
    CHECK(g.read(value_file) == "16\n");
    REQUIRE(echo_into(g, value_file, "010").ok());
    CHECK(g.read(value_file) == "8\n");
    // printf sends no newline; store() gets the digits alone.
    REQUIRE(g.run("printf 2147483647 > " + value_file).ok());
    CHECK(g.read(value_file) == "2147483647\n");
    CHECK(g.read(writes_file) == "5\n");

    // The values are the module's statics: they go with it.
    REQUIRE(g.rmmod("kms_sysfs").ok());
    REQUIRE(g.insmod("kms_sysfs").ok());
    CHECK(g.read(value_file) == "0\n");
    CHECK(g.read(writes_file) == "0\n");
    REQUIRE(g.rmmod("kms_sysfs").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("store() refuses junk with EINVAL: busybox's echo says Invalid argument, dash's echo "
          "says I/O error, and the value stays",
          "[sysfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_sysfs"};
    REQUIRE(g.insmod("kms_sysfs").ok());
    REQUIRE(echo_into(g, value_file, "5").ok());

    // busybox's applet reports write(2)'s errno in strerror's words.
    auto applet = echo_into(g, value_file, "abc", true);
    CHECK(applet.status == 1);
    CHECK(applet.err == "echo: write error: Invalid argument\n");
    // dash's builtin reports any failed write the same way, whatever the errno.
    auto builtin = echo_into(g, value_file, "abc");
    CHECK(builtin.status == 1);
    CHECK(builtin.err == "/bin/sh: 1: echo: echo: I/O error\n");
    // Trailing junk (a space is junk too: only one newline may follow the
    // digits) and a number past int: kstrtoint() says EINVAL to the first
    // two, ERANGE to the third.
    CHECK(echo_into(g, value_file, "12abc", true).err == "echo: write error: Invalid argument\n");
    CHECK(echo_into(g, value_file, "3 ", true).err == "echo: write error: Invalid argument\n");
    CHECK(echo_into(g, value_file, "2147483648", true).err ==
          "echo: write error: Numerical result out of range\n");
    CHECK(echo_into(g, value_file, "", true).err == "echo: write error: Invalid argument\n");

    CHECK(g.read(value_file) == "5\n");
    // Only the first write was accepted.
    CHECK(g.read(writes_file) == "1\n");
    REQUIRE(g.rmmod("kms_sysfs").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("sysfs refuses to open a 0444 attribute for writing, root included; after a chmod the "
          "write reaches no store() and fails with EIO",
          "[sysfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_sysfs"};
    REQUIRE(g.insmod("kms_sysfs").ok());
    REQUIRE(trimmed(g.run("id -u").out) == "0");

    // Root's CAP_DAC_OVERRIDE passes the VFS's check; kernfs checks the
    // mode bits again at open for sysfs, and refuses: EACCES.
    auto denied = echo_into(g, writes_file, "1");
    CHECK(denied.status == 2);
    CHECK(denied.err == "/bin/sh: 1: cannot create /sys/kernel/kms_sysfs/writes: Permission denied\n");
    auto applet = g.run("busybox dd if=/dev/zero of=" + writes_file + " bs=1 count=1 conv=notrunc");
    CHECK(applet.status == 1);
    CHECK_THAT(applet.err, Contains("dd: can't open '/sys/kernel/kms_sysfs/writes': Permission "
                                    "denied"));
    CHECK(g.read(writes_file) == "0\n");

    // The mode is all that stood in the way: writes has no store(), and
    // kobject attributes' sysfs_ops say EIO for one that has none.
    REQUIRE(g.run("chmod 644 " + writes_file).ok());
    CHECK(trimmed(g.run("stat -c %a " + writes_file).out) == "644");
    auto no_store = echo_into(g, writes_file, "1", true);
    CHECK(no_store.status == 1);
    CHECK(no_store.err == "echo: write error: Input/output error\n");
    CHECK(g.read(writes_file) == "0\n");

    REQUIRE(g.rmmod("kms_sysfs").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("range's two halves change together, stay in order, and refuse anything but two "
          "numbers, also under a concurrent writer",
          "[sysfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_sysfs"};
    REQUIRE(g.insmod("kms_sysfs").ok());

    REQUIRE(echo_into(g, range_file, "-5 5").ok());
    CHECK(g.read(range_file) == "-5 5\n");
    REQUIRE(echo_into(g, range_file, "3 3").ok());
    CHECK(g.read(range_file) == "3 3\n");
    for (const auto* bad : {"5 -5", "1", "1 2 3", "1 x", "one two"}) {
        INFO("echo '" << bad << "'");
        CHECK(echo_into(g, range_file, bad, true).err == "echo: write error: Invalid argument\n");
    }
    CHECK(g.read(range_file) == "3 3\n");
    CHECK(g.read(writes_file) == "2\n");

    // A writer stores "-i i" while a reader reads: every read is one whole
    // store, lo = -hi, never the halves of two.
    REQUIRE(echo_into(g, range_file, "0 0").ok());
    auto raced = g.run("( i=1; while [ $i -le 300 ]; do echo \"-$i $i\" > " + range_file +
                           "; i=$((i + 1)); done ) &\n"
                           "writer=$!\n"
                           "torn=0; n=0\n"
                           "while kill -0 $writer 2>/dev/null || [ $n -eq 0 ]; do\n"
                           "    read lo hi < " + range_file +
                           "\n"
                           "    [ $((lo + hi)) -eq 0 ] || { torn=$((torn + 1)); echo \"$lo $hi\"; }\n"
                           "    n=$((n + 1))\n"
                           "done\n"
                           "wait $writer\n"
                           "echo torn=$torn\n",
                       30s);
    REQUIRE(raced.ok());
    CHECK(lines_with(raced.out, "torn=") == std::vector<std::string>{"torn=0"});
    CHECK(g.read(range_file) == "-300 300\n");
    CHECK(g.read(writes_file) == "303\n");

    REQUIRE(g.rmmod("kms_sysfs").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("an attribute held open does not hold kms_sysfs: rmmod works, and the open file then "
          "reads ENODEV",
          "[sysfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_sysfs"};
    REQUIRE(g.insmod("kms_sysfs").ok());
    REQUIRE(echo_into(g, value_file, "9").ok());

    // The kobject's type names no module: an open file pins no code, and
    // kernfs drains the show() and store() calls in flight at removal.
    auto left_open = g.run("exec 3< " + value_file +
                               "\n"
                               "cat /sys/module/kms_sysfs/refcnt\n"
                               "rmmod kms_sysfs || exit 10\n"
                               "test -e " + dir + " && exit 11\n"
                               "cat <&3",
                           10s);
    CHECK(left_open.status == 1);
    CHECK(left_open.out == "0\n");
    CHECK(left_open.err == "cat: read error: No such device\n");
    CHECK_FALSE(is_loaded(g, "kms_sysfs"));
    CHECK_HEALTHY(g);
}
