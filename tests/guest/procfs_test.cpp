// SPDX-License-Identifier: GPL-2.0
// kms_procfs in a real kernel: a /proc file made by a seq_file iterator.
// /proc/kms_procfs holds `records` lines, byte for byte what the suite
// computes, also when they are many pages long (10000 records, 594 KB) or
// none; reads of 1, 7, 4096 or 65536 bytes at a time give the same bytes
// as one cat; seq_lseek moves the position (dd skip=, read back through
// /proc/self/fdinfo) and a read there gives the bytes at that offset;
// /proc/kms_procfs_summary, one show() through proc_create_single(),
// counts the same records and bytes that wc does. rmmod takes both files
// away, and is not refused while a reader holds one open: procfs drains
// and releases that file, whose next read fails with EIO.
#include "guest_suite.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

using namespace kmsdk;
using namespace kmsdk::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_procfs"}); });
}

const std::string records_file = "/proc/kms_procfs";
const std::string summary_file = "/proc/kms_procfs_summary";

// What kms_procfs_show() prints for records 0 to count - 1.
std::string expected_records(unsigned count)
{
    std::string text;
    for (std::uint64_t n = 0; n < count; n++)
        text += fmt::format("record {}: {} squared is {}, cubed is {}\n", n, n, n * n, n * n * n);
    return text;
}

// A command's standard output, which must have succeeded.
std::string output_of(Guest& g, const std::string& command)
{
    auto result = g.run(command, 30s);
    INFO(command << "\n" << result.err);
    REQUIRE(result.ok());
    return result.out;
}

}  // namespace

TEST_CASE("insmod makes /proc/kms_procfs with 100 records, more than a page, and its summary; "
          "rmmod takes both away",
          "[procfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_procfs"};
    REQUIRE_FALSE(exists(g, records_file));

    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_procfs").ok()); });
    CHECK_THAT(loaded, Contains("kms_procfs: created /proc/kms_procfs with 100 records"));
    // procfs cannot know the size before it is read: stat says 0.
    CHECK(output_of(g, "stat -c '%a %s %n' " + records_file + " " + summary_file) ==
          "444 0 /proc/kms_procfs\n444 0 /proc/kms_procfs_summary\n");

    const auto expected = expected_records(100);
    REQUIRE(expected.size() > 4096);
    CHECK(output_of(g, "cat " + records_file + " | wc -l") == "100\n");
    CHECK(output_of(g, "head -n 1 " + records_file) == "record 0: 0 squared is 0, cubed is 0\n");
    CHECK(output_of(g, "tail -n 1 " + records_file) ==
          "record 99: 99 squared is 9801, cubed is 970299\n");
    CHECK(output_of(g, "cat " + records_file + " | wc -c") ==
          fmt::format("{}\n", expected.size()));
    CHECK(output_of(g, "cat " + records_file) == expected);

    // One show() counts what the iterator prints, with the same format.
    CHECK(output_of(g, "cat " + summary_file) ==
          fmt::format("records: 100\nbytes: {}\n", expected.size()));

    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.rmmod("kms_procfs").ok()); });
    CHECK_THAT(unloaded, Contains("kms_procfs: removed /proc/kms_procfs"));
    CHECK_FALSE(exists(g, records_file));
    CHECK_FALSE(exists(g, summary_file));
    auto gone = g.run("cat " + records_file);
    CHECK(gone.status == 1);
    CHECK(gone.err == "cat: can't open '/proc/kms_procfs': No such file or directory\n");
    CHECK_HEALTHY(g);
}

TEST_CASE("records=10000 is 145 pages of output and arrives whole; records=0 is an empty file",
          "[procfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_procfs"};
    REQUIRE(g.insmod("kms_procfs", "records=10000").ok());
    CHECK(g.read("/sys/module/kms_procfs/parameters/records") == "10000\n");

    const auto expected = expected_records(10000);
    REQUIRE(expected.size() > std::size_t{145} * 4096);
    CHECK(output_of(g, "wc -l < " + records_file) == "10000\n");
    CHECK(output_of(g, "tail -n 1 " + records_file) ==
          "record 9999: 9999 squared is 99980001, cubed is 999700029999\n");
    CHECK(output_of(g, "cat " + records_file) == expected);
    CHECK(output_of(g, "cat " + summary_file) ==
          fmt::format("records: 10000\nbytes: {}\n", expected.size()));
    REQUIRE(g.rmmod("kms_procfs").ok());

    // start() finds no record 0: end of file at once.
    REQUIRE(g.insmod("kms_procfs", "records=0").ok());
    CHECK(output_of(g, "wc -c < " + records_file) == "0\n");
    CHECK(output_of(g, "cat " + summary_file) == "records: 0\nbytes: 0\n");
    REQUIRE(g.rmmod("kms_procfs").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("reads of 1, 7, 4096 and 65536 bytes at a time give the same bytes as one cat",
          "[procfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_procfs"};
    // Some 15 KB: four pages, and records that straddle each page's end.
    REQUIRE(g.insmod("kms_procfs", "records=300").ok());
    const auto expected = expected_records(300);
    REQUIRE(output_of(g, "cat " + records_file + " > /tmp/whole").empty());
    REQUIRE(output_of(g, "md5sum < /tmp/whole") == output_of(g, "cat " + records_file + " | md5sum"));

    for (int bs : {1, 7, 4096, 65536}) {
        INFO("bs=" << bs);
        // dd counts full and partial blocks: seq_file hands out a page's
        // worth at most per read(), so large blocks come back short.
        auto chunked = g.run(fmt::format("dd if={} bs={} of=/tmp/chunked && cmp /tmp/whole "
                                         "/tmp/chunked && md5sum < /tmp/chunked",
                                         records_file, bs),
                             30s);
        REQUIRE(chunked.ok());
        CHECK(chunked.out == output_of(g, "md5sum < /tmp/whole"));
        if (bs == 7)
            CHECK_THAT(chunked.err, Contains(fmt::format("{}+1 records in\n", expected.size() / 7)));
        // No read() gets more than the buffer's page, here less than a
        // block: every one is partial.
        if (bs == 65536)
            CHECK_THAT(chunked.err, Catch::Matchers::StartsWith("0+"));
    }
    CHECK(g.read("/tmp/whole") == expected);
    REQUIRE(g.run("rm -f /tmp/whole /tmp/chunked").ok());
    REQUIRE(g.rmmod("kms_procfs").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("seq_lseek moves the position as dd skip= asks, and a read there gives the bytes at "
          "that offset",
          "[procfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_procfs"};
    REQUIRE(g.insmod("kms_procfs").ok());
    const auto expected = expected_records(100);

    // One open file, so each dd goes on from where the last one stopped:
    // read 100 bytes, skip 50 (lseek SEEK_CUR), read 10, then skip 4000
    // into the second page and read 30.
    auto moved = g.run("exec 3< " + records_file +
                           "\n"
                           "dd bs=100 count=1 <&3 2>/dev/null >/dev/null\n"
                           "grep '^pos:' /proc/self/fdinfo/3\n"
                           "dd bs=1 skip=50 count=10 <&3 2>/dev/null; echo\n"
                           "grep '^pos:' /proc/self/fdinfo/3\n"
                           "dd bs=1 skip=4000 count=30 <&3 2>/dev/null; echo\n"
                           "grep '^pos:' /proc/self/fdinfo/3\n",
                       10s);
    REQUIRE(moved.ok());
    CHECK(moved.out == fmt::format("pos:\t100\n{}\npos:\t160\n{}\npos:\t4190\n",
                                   expected.substr(150, 10), expected.substr(4160, 30)));

    // A fresh open seeks straight to the offset: seq_file walks the
    // records up to it and hands out what follows.
    CHECK(output_of(g, "dd if=" + records_file + " bs=1 skip=4500 2>/dev/null") ==
          expected.substr(4500));
    // Past the end is no error: the position moves there, and read() says
    // end of file.
    auto past = g.run(fmt::format("dd if={} bs=1 skip={}", records_file, expected.size() + 100));
    CHECK(past.status == 0);
    CHECK(past.out.empty());
    CHECK(past.err == "0+0 records in\n0+0 records out\n");

    REQUIRE(g.rmmod("kms_procfs").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("a reader holding /proc/kms_procfs open does not hold kms_procfs: rmmod works, and its "
          "next read fails with EIO",
          "[procfs]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_procfs"};
    REQUIRE(g.insmod("kms_procfs").ok());

    // The reader has read part of the file and would read on.
    auto left_open = g.run("exec 3< " + records_file +
                               "\n"
                               "dd bs=10 count=1 <&3 2>/dev/null; echo\n"
                               "cat /sys/module/kms_procfs/refcnt\n"
                               "rmmod kms_procfs || exit 10\n"
                               "test -e " + records_file + " && exit 11\n"
                               "dd bs=10 count=1 <&3\n"
                               "echo dd=$?\n"
                               "cat <&3",
                           10s);
    CHECK(left_open.status == 1);
    CHECK(left_open.out == "record 0: \n0\ndd=1\n");
    CHECK(left_open.err == "dd: standard input: Input/output error\n"
                           "cat: read error: Input/output error\n");
    CHECK_FALSE(is_loaded(g, "kms_procfs"));

    // A new load makes a new file; the old descriptor is gone with its shell.
    REQUIRE(g.insmod("kms_procfs").ok());
    CHECK(output_of(g, "head -n 1 " + records_file) == "record 0: 0 squared is 0, cubed is 0\n");
    REQUIRE(g.rmmod("kms_procfs").ok());
    CHECK_HEALTHY(g);
}
