// SPDX-License-Identifier: GPL-2.0
// kms_chardev in a real kernel: a character device whose file_operations
// keep the contract the tools rely on. insmod registers a dynamic major and
// devtmpfs makes /dev/kms_chardev, which rmmod removes. What is written
// reads back with cat, which stops at the end of the data; a shell's >
// empties the device and >> appends; dd reads part of it with skip and
// count and writes into it with seek; tail -c finds its end with SEEK_END.
// A write past the 4096 bytes fails with ENOSPC after the part that fits,
// in dd's and busybox echo's words, and a position past them with EINVAL.
// The ioctls (through kms-chardev-probe, built on the UAPI header) report
// the size and clear the device, the clear only on a file open for
// writing; an ioctl the driver does not know is ENOTTY (stty's). poll says
// readable while there is data and writable while there is room, and a
// write or a clear wakes a program that sleeps in poll. An open file holds
// the module: rmmod is refused until it closes.
#include "guest_suite.hpp"

#include "../../kmodules/kms_chardev/uapi/kms_chardev.h"

#include <fmt/format.h>

#include <filesystem>
#include <string>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// The probe this build made (tests/guest/CMakeLists.txt).
const std::filesystem::path probe_path{KMSDK_CHARDEV_PROBE_PATH};

const std::string node = "/dev/kms_chardev";

Guest& guest()
{
    return suite_guest([] {
        // Staged as /usr/bin/kms-chardev-probe, on the guest's PATH.
        return with_built_modules({"kms_chardev"}).program(probe_path);
    });
}

// Loads kms_chardev, which starts empty, and has it unloaded at the end.
void load(Guest& g)
{
    REQUIRE_FALSE(is_loaded(g, "kms_chardev"));
    REQUIRE(g.insmod("kms_chardev").ok());
}

// What the device holds, as cat prints it; cat must succeed.
std::string contents(Guest& g)
{
    auto cat = g.run("cat " + node, 10s);
    INFO(cat.err);
    CHECK(cat.status == 0);
    CHECK(cat.err.empty());
    return cat.out;
}

CommandResult probe(Guest& g, const std::string& arguments)
{
    return g.run("kms-chardev-probe " + arguments, 10s);
}

// GET_SIZE's answer.
std::string size_of(Guest& g)
{
    auto size = probe(g, "size");
    INFO(size.err);
    CHECK(size.status == 0);
    return trimmed(size.out);
}

// What poll(2) reports at once (timeout 0) for these events.
std::string poll_now(Guest& g, const std::string& events)
{
    auto polled = probe(g, "poll " + events + " 0");
    INFO(polled.err);
    CHECK(polled.status == 0);
    return trimmed(polled.out);
}

// Fills the device to its capacity through one dd, which O_TRUNC empties
// first.
void fill(Guest& g)
{
    REQUIRE(g.run(fmt::format("dd if=/dev/zero of={} bs={} count=1 2>/dev/null", node,
                              KMS_CHARDEV_CAPACITY),
                  10s)
                .ok());
    REQUIRE(size_of(g) == std::to_string(KMS_CHARDEV_CAPACITY));
}

}  // namespace

TEST_CASE("insmod registers a dynamic major and /dev/kms_chardev; rmmod removes both",
          "[chardev]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_chardev"};
    REQUIRE_FALSE(exists(g, node));
    std::string loaded_log;
    loaded_log = kernel_log_during(g, [&] { load(g); });

    // alloc_chrdev_region() chose the major; /proc/devices and sysfs agree.
    auto devices = lines_with(g.read("/proc/devices"), " kms_chardev");
    REQUIRE(devices.size() == 1);
    auto major = words(devices[0]).at(0);
    CHECK(std::stoi(major) > 0);
    CHECK_THAT(loaded_log,
               Contains(fmt::format("kms_chardev: /dev/kms_chardev is {}:0, 4096 bytes", major)));
    CHECK(g.read("/sys/class/kms_chardev/kms_chardev/dev") == major + ":0\n");
    // devtmpfs made the node from the uevent: a character device, root's.
    auto listed = g.run("ls -l " + node);
    REQUIRE(listed.ok());
    CHECK_THAT(listed.out, StartsWith("crw-------"));
    CHECK_THAT(listed.out, Contains(major + ",   0"));

    // Data stays between opens, while the module is loaded.
    REQUIRE(g.run("echo kept > " + node).ok());
    CHECK(contents(g) == "kept\n");

    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.rmmod("kms_chardev").ok()); });
    CHECK_THAT(unloaded, Contains("kms_chardev: removed /dev/kms_chardev"));
    CHECK_FALSE(exists(g, node));
    CHECK_FALSE(exists(g, "/sys/class/kms_chardev"));
    CHECK(lines_with(g.read("/proc/devices"), " kms_chardev").empty());

    // A new load starts empty: the buffer went with the module.
    load(g);
    CHECK(contents(g).empty());
    REQUIRE(g.rmmod("kms_chardev").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("cat reads what was written and stops at the end of the data; > empties the device "
          "and >> appends",
          "[chardev]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_chardev"};
    load(g);
    // An empty device reads end of file at once: cat prints nothing.
    CHECK(contents(g).empty());
    CHECK(size_of(g) == "0");

    REQUIRE(g.run("echo hello world > " + node).ok());
    CHECK(contents(g) == "hello world\n");
    CHECK(size_of(g) == "12");
    // O_TRUNC: the shorter text replaces the longer one, no tail of it left.
    REQUIRE(g.run("echo hi > " + node).ok());
    CHECK(contents(g) == "hi\n");
    // O_APPEND: written at the end of the data.
    REQUIRE(g.run("echo there >> " + node).ok());
    CHECK(contents(g) == "hi\nthere\n");
    CHECK(size_of(g) == "9");

    REQUIRE(g.rmmod("kms_chardev").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("dd reads part of the data with skip and count and writes into it with seek; tail -c "
          "finds the end with SEEK_END",
          "[chardev]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_chardev"};
    load(g);
    REQUIRE(g.run("printf 'hi\\nthere\\n' > " + node).ok());

    // skip= is lseek(SEEK_CUR); the read stops at count.
    auto part = g.run(fmt::format("dd if={} bs=1 skip=3 count=5", node), 10s);
    CHECK(part.status == 0);
    CHECK(part.out == "there");
    CHECK(part.err == "5+0 records in\n5+0 records out\n");
    // A count past the data ends where the data does.
    auto whole = g.run(fmt::format("dd if={} bs=1 count=100", node), 10s);
    CHECK(whole.status == 0);
    CHECK(whole.out == "hi\nthere\n");
    CHECK(whole.err == "9+0 records in\n9+0 records out\n");

    // seek= writes at the position; busybox dd does not truncate then.
    auto poked = g.run(fmt::format("printf abc | dd of={} bs=1 seek=1", node), 10s);
    CHECK(poked.status == 0);
    CHECK(poked.err == "3+0 records in\n3+0 records out\n");
    CHECK(contents(g) == "habchere\n");

    // busybox tail -c asks lseek(0, SEEK_END) for the size, then seeks back
    // with SEEK_SET: SEEK_END counts from the end of the data, not of the
    // 4096 bytes.
    auto tail = g.run("tail -c 5 " + node, 10s);
    CHECK(tail.status == 0);
    CHECK(tail.out == "here\n");

    // A seek past the data leaves a hole, which reads as zeroes.
    REQUIRE(g.run(fmt::format("printf Z | dd of={} bs=1 seek=12 2>/dev/null", node), 10s).ok());
    CHECK(size_of(g) == "13");
    auto hole = g.run(fmt::format("dd if={} bs=1 skip=9 2>/dev/null", node), 10s);
    CHECK(hole.status == 0);
    CHECK(hole.out == std::string(3, '\0') + "Z");

    REQUIRE(g.rmmod("kms_chardev").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("a write past the 4096 bytes fails with ENOSPC after the part that fits; a position "
          "past them is EINVAL",
          "[chardev]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_chardev"};
    load(g);

    // The first block fits whole, the second finds no room.
    auto over = g.run(fmt::format("dd if=/dev/zero of={} bs={} count=2", node,
                                  KMS_CHARDEV_CAPACITY),
                      10s);
    CHECK(over.status == 1);
    CHECK(over.err == "dd: error writing '/dev/kms_chardev': No space left on device\n"
                      "2+0 records in\n1+0 records out\n");
    CHECK(size_of(g) == std::to_string(KMS_CHARDEV_CAPACITY));

    // busybox echo's words; dash's builtin echo would say "I/O error".
    auto echo = g.run("busybox echo more >> " + node, 10s);
    CHECK(echo.status == 1);
    CHECK(echo.err == "echo: write error: No space left on device\n");

    // A write that crosses the end is cut short: 2 of the 4 bytes land,
    // and dd's write of the other 2 finds no room.
    REQUIRE(g.run(fmt::format("dd if=/dev/zero of={} bs=4094 count=1 2>/dev/null", node), 10s)
                .ok());
    auto crossing = g.run(fmt::format("printf abcd | dd bs=4 >> {}", node), 10s);
    CHECK(crossing.status == 1);
    CHECK_THAT(crossing.err,
               StartsWith("dd: error writing 'standard output': No space left on device\n"));
    auto tail = g.run(fmt::format("dd if={} bs=1 skip=4092 2>/dev/null", node), 10s);
    CHECK(tail.out == std::string(2, '\0') + "ab");
    CHECK(size_of(g) == std::to_string(KMS_CHARDEV_CAPACITY));

    // Position 4096 may be reached; a write there has no room.
    auto at_end = g.run(fmt::format("printf x | dd of={} bs=1 seek={}", node,
                                    KMS_CHARDEV_CAPACITY),
                        10s);
    CHECK(at_end.status == 1);
    CHECK_THAT(at_end.err,
               StartsWith("dd: error writing '/dev/kms_chardev': No space left on device\n"));
    // Past it, the seek itself fails.
    auto past = g.run(fmt::format("printf x | dd of={} bs=1 seek={}", node,
                                  KMS_CHARDEV_CAPACITY + 1),
                      10s);
    CHECK(past.status == 1);
    CHECK(past.err == "dd: /dev/kms_chardev: Invalid argument\n");

    REQUIRE(g.rmmod("kms_chardev").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("the ioctls report the size and clear the device, the clear only for a writer; an "
          "unknown ioctl is ENOTTY",
          "[chardev]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_chardev"};
    load(g);
    REQUIRE(g.run("echo hello > " + node).ok());
    // GET_SIZE needs no write access.
    auto size = probe(g, "-r size");
    CHECK(size.status == 0);
    CHECK(size.out == "6\n");

    // CLEAR changes the data: refused on a file open read-only.
    auto refused = probe(g, "-r clear");
    CHECK(refused.status == 1);
    CHECK(refused.err == "kms-chardev-probe: clear /dev/kms_chardev: Bad file descriptor\n");
    CHECK(contents(g) == "hello\n");

    auto cleared = probe(g, "clear");
    CHECK(cleared.status == 0);
    CHECK(cleared.err.empty());
    CHECK(size_of(g) == "0");
    CHECK(contents(g).empty());

    // stty's TCGETS is an ioctl the driver does not know.
    auto stty = g.run("stty -F " + node, 10s);
    CHECK(stty.status == 1);
    CHECK(stty.err == "stty: /dev/kms_chardev: Inappropriate ioctl for device\n");

    REQUIRE(g.rmmod("kms_chardev").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("poll: an empty device is writable only, a written one readable and writable, a full "
          "one readable only",
          "[chardev]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_chardev"};
    load(g);

    CHECK(poll_now(g, "in,out") == "out");
    CHECK(poll_now(g, "in") == "timeout");
    // A real wait, not only a look: 200 ms pass without data.
    auto waited = probe(g, "poll in 200");
    CHECK(waited.status == 0);
    CHECK(waited.out == "timeout\n");
    CHECK(waited.elapsed >= 200ms);

    REQUIRE(g.run("echo data > " + node).ok());
    CHECK(poll_now(g, "in,out") == "in out");
    // A reader at the end of the data is still told "readable": poll
    // reports the device, and read there returns 0 without blocking.
    CHECK(trimmed(g.run("cat " + node + " >/dev/null; kms-chardev-probe poll in 0").out) == "in");

    fill(g);
    CHECK(poll_now(g, "in,out") == "in");
    CHECK(poll_now(g, "out") == "timeout");

    REQUIRE(probe(g, "clear").ok());
    CHECK(poll_now(g, "in,out") == "out");

    REQUIRE(g.rmmod("kms_chardev").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("a write wakes a program sleeping in poll for data; a clear wakes one sleeping for room",
          "[chardev]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_chardev"};
    load(g);

    // The poller must still be asleep when the wake-up comes, or the test
    // would prove nothing: status 3 says it was not.
    auto wake = [&](const std::string& events, const std::string& action) {
        return g.run(fmt::format("kms-chardev-probe poll {} 5000 > /tmp/polled 2>&1 &\n"
                                 "p=$!\n"
                                 "sleep 0.3\n"
                                 "kill -0 $p || exit 3\n"
                                 "grep -q '^State:.S' /proc/$p/status || exit 4\n"
                                 "{}\n"
                                 "wait $p || exit 5\n"
                                 "cat /tmp/polled",
                                 events, action),
                     15s);
    };

    auto for_data = wake("in", "echo data > " + node);
    INFO(for_data.out << for_data.err);
    CHECK(for_data.status == 0);
    CHECK(for_data.out == "in\n");
    // Woken by the write, not by the 5 s timeout.
    CHECK(for_data.elapsed < 4s);

    fill(g);
    auto for_room = wake("out", "kms-chardev-probe clear");
    INFO(for_room.out << for_room.err);
    CHECK(for_room.status == 0);
    CHECK(for_room.out == "out\n");
    CHECK(for_room.elapsed < 4s);

    REQUIRE(g.rmmod("kms_chardev").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("an open /dev/kms_chardev holds the module twice: rmmod is refused until it closes",
          "[chardev]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_chardev"};
    load(g);
    REQUIRE(g.read("/sys/module/kms_chardev/refcnt") == "0\n");

    // One open file takes two references: chrdev_open() takes one for
    // the struct cdev the file points at (cdev.owner), and one for the
    // file_operations it installs (fops.owner).
    auto holder = hold_open(g, node, "kms_chardev", 2);
    check_rmmod_refused_in_use(g, "kms_chardev");
    CHECK(exists(g, node));

    REQUIRE(g.run("kill " + holder + "\n" + wait_for_refcount_script("kms_chardev", 0)).ok());
    REQUIRE(g.read("/sys/module/kms_chardev/refcnt") == "0\n");
    REQUIRE(g.rmmod("kms_chardev").ok());
    CHECK_FALSE(exists(g, node));
    CHECK_HEALTHY(g);
}
