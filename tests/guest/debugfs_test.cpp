// SPDX-License-Identifier: GPL-2.0
// kms_debugfs in a real kernel: a module's variables as debugfs files.
// The guest's agent mounts debugfs on /sys/kernel/debug, whose root is
// 0700: root only, and another user is refused at the door. Loading makes
// /sys/kernel/debug/kms_debugfs; rmmod takes it away. The u32 file reads
// and writes in decimal, the x32 file shows the same variable as 0x%08x,
// and both cut a 64-bit number to 32 bits without a word; the bool reads
// Y or N and ignores what it cannot parse; the blob reads its 16 bytes as
// they are in memory, and a root write to it, 0444 or not, is refused on
// 6.1 and lands on 6.6 and later; the file with the module's own fops
// gives each open the next number. An open file of the module's own fops
// holds the module; one of debugfs's helpers does not, and reads EIO after
// rmmod. Booted with debugfs=off, the module loads all the same, without
// files, having checked none of debugfs's results.
#include "guest_suite.hpp"

#include <fmt/format.h>

#include <chrono>
#include <string>
#include <vector>

using namespace kmsdk;
using namespace kmsdk::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_debugfs"}); });
}

const std::string dir = "/sys/kernel/debug/kms_debugfs";
const std::string number_file = dir + "/number";
const std::string hex_file = dir + "/number_hex";
const std::string counting_file = dir + "/counting";
const std::string squares_file = dir + "/squares";
const std::string opens_file = dir + "/opens";

// `busybox echo <text> > <file>`: busybox words write(2)'s errno (dash's
// echo would say "I/O error" whatever it was).
CommandResult echo_into(Guest& g, const std::string& file, const std::string& text)
{
    return g.run(fmt::format("busybox echo '{}' > {}", text, file), 10s);
}

// A command's standard output, which must have succeeded.
std::string output_of(Guest& g, const std::string& command)
{
    auto result = g.run(command, 10s);
    INFO(command << "\n" << result.err);
    REQUIRE(result.ok());
    return result.out;
}

// Whether the kernel under test is `major`.`minor` or later.
bool kernel_at_least(int major, int minor)
{
    auto series = test_kernel().series();
    auto dot = series.find('.');
    REQUIRE(dot != std::string::npos);
    int have_major = std::stoi(series.substr(0, dot));
    int have_minor = std::stoi(series.substr(dot + 1));
    return have_major > major || (have_major == major && have_minor >= minor);
}

const std::string squares_od = "   0   1   4   9  16  25  36  49  64  81 100 121 144 169 196 225\n";

}  // namespace

TEST_CASE("debugfs is mounted on /sys/kernel/debug, root only; insmod makes kms_debugfs there "
          "and rmmod takes it away",
          "[debugfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_debugfs"};
    // The agent mounts it, as systemd does on a Debian machine.
    CHECK(lines_with(g.read("/proc/mounts"), " debugfs ") ==
          std::vector<std::string>{"debugfs /sys/kernel/debug debugfs rw,relatime 0 0"});
    CHECK(output_of(g, "stat -c '%a %u' /sys/kernel/debug") == "700 0\n");
    REQUIRE_FALSE(exists(g, dir));

    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_debugfs").ok()); });
    CHECK_THAT(loaded, Contains("kms_debugfs: created /sys/kernel/debug/kms_debugfs"));
    // The modes given, and 0755 for a directory. Every size is 0, the
    // blob's too: only a read says what there is.
    CHECK(output_of(g, "cd " + dir + " && stat -c '%a %s %n' . *") ==
          "755 0 .\n644 0 counting\n644 0 number\n644 0 number_hex\n644 0 opens\n444 0 "
          "squares\n");

    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.rmmod("kms_debugfs").ok()); });
    CHECK_THAT(unloaded, Contains("kms_debugfs: unloaded, opens counted: 0"));
    CHECK_FALSE(exists(g, dir));
    auto gone = g.run("ls " + dir);
    CHECK(gone.err == "ls: /sys/kernel/debug/kms_debugfs: No such file or directory\n");
    CHECK_HEALTHY(g);
}

TEST_CASE("another user than root cannot list /sys/kernel/debug nor read kms_debugfs's files",
          "[debugfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_debugfs"};
    REQUIRE(g.insmod("kms_debugfs").ok());
    // busybox su, as root, needs no password: only the user's entry.
    REQUIRE_FALSE(exists(g, "/etc/passwd"));
    g.write("/etc/passwd", "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n");

    auto as_nobody = g.run("su -s /bin/sh nobody -c 'id -u; ls /sys/kernel/debug; cat " +
                               number_file + "'",
                           10s);
    REQUIRE(g.run("rm /etc/passwd").ok());
    CHECK(as_nobody.status == 1);
    CHECK(as_nobody.out == "65534\n");
    CHECK(as_nobody.err == "ls: can't open '/sys/kernel/debug': Permission denied\n"
                           "cat: can't open '/sys/kernel/debug/kms_debugfs/number': Permission "
                           "denied\n");
    // Root reads it.
    CHECK(g.read(number_file) == "0\n");
    REQUIRE(g.rmmod("kms_debugfs").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("u32 and x32 show one variable in decimal and as 0x%08x; both take either base, refuse "
          "junk and cut 64 bits to 32 without a word",
          "[debugfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_debugfs"};
    REQUIRE(g.insmod("kms_debugfs").ok());
    CHECK(g.read(number_file) == "0\n");
    CHECK(g.read(hex_file) == "0x00000000\n");

    REQUIRE(g.run("echo 255 > " + number_file).ok());
    CHECK(output_of(g, "cat " + number_file) == "255\n");
    CHECK(output_of(g, "cat " + hex_file) == "0x000000ff\n");
    REQUIRE(g.run("echo 0xdeadbeef > " + hex_file).ok());
    CHECK(output_of(g, "cat " + number_file) == "3735928559\n");
    CHECK(output_of(g, "cat " + hex_file) == "0xdeadbeef\n");
    // The hex file parses as the decimal one does: base 0, so 0x is hex
    // and a leading 0 octal.
    REQUIRE(g.run("echo 0377 > " + hex_file).ok());
    CHECK(output_of(g, "cat " + number_file) == "255\n");
    REQUIRE(g.run("echo 16 > " + hex_file).ok());
    CHECK(output_of(g, "cat " + hex_file) == "0x00000010\n");

    CHECK(echo_into(g, number_file, "abc").err == "echo: write error: Invalid argument\n");
    CHECK(echo_into(g, number_file, "-1").err == "echo: write error: Invalid argument\n");
    CHECK(g.read(number_file) == "16\n");
    // The helpers parse 64 bits and store what fits in 32: 2^32 + 5 is 5.
    REQUIRE(echo_into(g, number_file, "4294967301").ok());
    CHECK(g.read(number_file) == "5\n");

    REQUIRE(g.rmmod("kms_debugfs").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("the bool reads Y or N, takes y/n/1/0/on/off, and ignores a word it cannot parse",
          "[debugfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_debugfs"};
    REQUIRE(g.insmod("kms_debugfs").ok());
    CHECK(g.read(counting_file) == "Y\n");

    for (const auto& [word, shown] : std::vector<std::pair<std::string, std::string>>{
             {"n", "N\n"}, {"1", "Y\n"}, {"0", "N\n"}, {"on", "Y\n"}, {"off", "N\n"}, {"Yes", "Y\n"}}) {
        INFO("echo " << word);
        REQUIRE(echo_into(g, counting_file, word).ok());
        CHECK(output_of(g, "cat " + counting_file) == shown);
    }
    // kstrtobool() refuses "maybe", and the bool's write returns success
    // anyway: the value stays, and echo has nothing to report.
    auto maybe = echo_into(g, counting_file, "maybe");
    CHECK(maybe.status == 0);
    CHECK(maybe.err.empty());
    CHECK(g.read(counting_file) == "Y\n");

    REQUIRE(g.rmmod("kms_debugfs").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("the blob reads its 16 bytes as they are in memory; a root write to the 0444 file is "
          "refused on 6.1 and lands on 6.6 and later",
          "[debugfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_debugfs"};
    REQUIRE(g.insmod("kms_debugfs").ok());

    // Binary, NUL first, no newline added: exactly the array.
    CHECK(output_of(g, "od -An -tu1 " + squares_file) == squares_od);
    CHECK(output_of(g, "wc -c < " + squares_file) == "16\n");
    auto bytes = g.read(squares_file);
    REQUIRE(bytes.size() == 16);
    for (unsigned i = 0; i < 16; i++)
        CHECK(static_cast<unsigned char>(bytes[i]) == i * i);
    // A read at an offset starts there.
    CHECK(output_of(g, "dd if=" + squares_file + " bs=1 skip=14 2>/dev/null | od -An -tu1") ==
          " 196 225\n");

    // Root passes the mode bits. The u32 helpers choose read-only fops
    // for a mode without write bits, but the blob has one set of fops,
    // and since 6.6 they write.
    auto written = echo_into(g, squares_file, "x");
    if (kernel_at_least(6, 6)) {
        CHECK(written.ok());
        CHECK(output_of(g, "od -An -tu1 " + squares_file) ==
              " 120  10   4   9  16  25  36  49  64  81 100 121 144 169 196 225\n");
    } else {
        CHECK(written.status == 1);
        CHECK(written.err == "echo: write error: Invalid argument\n");
        CHECK(output_of(g, "od -An -tu1 " + squares_file) == squares_od);
    }

    REQUIRE(g.rmmod("kms_debugfs").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("the file with kms_debugfs's own fops gives each open the next number, which all its "
          "reads agree on",
          "[debugfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_debugfs"};
    REQUIRE(g.insmod("kms_debugfs").ok());

    CHECK(output_of(g, "cat " + opens_file) == "1\n");
    CHECK(output_of(g, "cat " + opens_file) == "2\n");
    // An open file keeps its number while later opens take theirs; byte
    // by byte, its reads give the same line.
    CHECK(output_of(g, "exec 3< " + opens_file + "\ncat " + opens_file +
                           "\ndd bs=1 <&3 2>/dev/null") == "4\n3\n");
    // counting=N: opens see the count and leave it.
    REQUIRE(g.run("echo N > " + counting_file).ok());
    CHECK(output_of(g, "cat " + opens_file + "; cat " + opens_file) == "4\n4\n");
    REQUIRE(g.run("echo Y > " + counting_file).ok());
    // A write sets the count; its own open counted before it.
    REQUIRE(g.run("echo 41 > " + opens_file).ok());
    CHECK(output_of(g, "cat " + opens_file) == "42\n");
    CHECK(echo_into(g, opens_file, "-3").err == "echo: write error: Invalid argument\n");
    CHECK(echo_into(g, opens_file, "many").err == "echo: write error: Invalid argument\n");

    // Two refused writes opened it too: 43, 44.
    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.rmmod("kms_debugfs").ok()); });
    CHECK_THAT(unloaded, Contains("kms_debugfs: unloaded, opens counted: 44"));
    CHECK_HEALTHY(g);
}

TEST_CASE("an open file of kms_debugfs's own fops holds the module; one of debugfs's helpers does "
          "not, and reads EIO after rmmod",
          "[debugfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_debugfs"};
    REQUIRE(g.insmod("kms_debugfs").ok());

    // The proxy took a reference on the fops' owner at open (as for
    // kms_kprobe's calls file).
    auto holder = hold_open(g, opens_file, "kms_debugfs");
    check_rmmod_refused_in_use(g, "kms_debugfs");
    CHECK(is_loaded(g, "kms_debugfs"));
    REQUIRE(g.run("kill " + holder + "\n" + wait_for_refcount_script("kms_debugfs", 0)).ok());
    REQUIRE(g.read("/sys/module/kms_debugfs/refcnt") == "0\n");

    // The u32's fops are debugfs's own: no reference, and removal cuts
    // the open file off from the module's variable.
    REQUIRE(g.run("echo 7 > " + number_file).ok());
    auto left_open = g.run("exec 3< " + number_file +
                               "\n"
                               "cat /sys/module/kms_debugfs/refcnt\n"
                               "rmmod kms_debugfs || exit 10\n"
                               "test -e " + dir + " && exit 11\n"
                               "cat <&3",
                           10s);
    CHECK(left_open.status == 1);
    CHECK(left_open.out == "0\n");
    CHECK(left_open.err == "cat: read error: Input/output error\n");
    CHECK_FALSE(is_loaded(g, "kms_debugfs"));
    CHECK_HEALTHY(g);
}

TEST_CASE("booted with debugfs=off, kms_debugfs loads and unloads all the same, with no files",
          "[debugfs]")
{
    // A guest of its own, booted from scratch: the kernel command line
    // makes another kind of guest, not worth a snapshot.
    Guest off{with_built_modules({"kms_debugfs"})
                  .kernel(test_kernel().release())
                  .kernel_cmdline("debugfs=off")
                  .cold()};
    // Nothing to mount: debugfs registered no filesystem, nor its mount point.
    CHECK_FALSE(exists(off, "/sys/kernel/debug"));
    CHECK(lines_with(off.read("/proc/filesystems"), "debugfs").empty());

    // debugfs_create_dir() said ERR_PTR(-EPERM), and the calls given
    // that as parent did nothing.
    auto loaded = kernel_log_during(off, [&] { REQUIRE(off.insmod("kms_debugfs").ok()); });
    CHECK_THAT(loaded, Contains("kms_debugfs: no debugfs (-EPERM): loaded without its files"));
    auto unloaded = kernel_log_during(off, [&] { REQUIRE(off.rmmod("kms_debugfs").ok()); });
    CHECK_THAT(unloaded, Contains("kms_debugfs: unloaded, opens counted: 0"));
    CHECK_HEALTHY(off);
}
