// SPDX-License-Identifier: GPL-2.0
// The files behind snapshots, without a guest: the header survives a round
// trip and refuses what this build did not write; a file's length must be
// the header's; a writer leaves either a complete snapshot or nothing; the
// CRC catches one flipped byte; one maker at a time holds the lock.
#include "snapshot_store.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using kmsdk::detail::Deadline;
using kmsdk::detail::read_snapshot_header;
using kmsdk::detail::SnapshotBroken;
using kmsdk::detail::SnapshotHeader;
using kmsdk::detail::SnapshotLock;
using kmsdk::detail::SnapshotWriter;
using kmsdk::detail::stream_intact;
using kmsdk::detail::TempDir;
using kmsdk::detail::UniqueFd;
using Catch::Matchers::Contains;

namespace {

SnapshotHeader sample_header()
{
    return SnapshotHeader{
        .key = "0123456789abcdef",
        .machine = "256 MiB, tcg, devices: edu",
        .stream_bytes = 69147061,
        .stream_crc = 0x0badf00d,
        .created = 1700000000,
        .save_ms = 1234,
    };
}

// What parse() says about `block`, or "" when it accepts it.
std::string parse_problem(const std::string& block)
{
    try {
        SnapshotHeader::parse(block);
        return {};
    } catch (const SnapshotBroken& broken) {
        return broken.what();
    }
}

// What read_snapshot_header() says about the file, or "" when it accepts it.
std::string file_problem(const fs::path& path)
{
    UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    REQUIRE(fd);
    try {
        read_snapshot_header(fd.get());
        return {};
    } catch (const SnapshotBroken& broken) {
        return broken.what();
    }
}

// A snapshot file: `header` (its stream_bytes as given), then `stream`.
void write_snapshot_file(const fs::path& path, const SnapshotHeader& header, const std::string& stream)
{
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out << header.format() << stream;
    REQUIRE(out);
}

void write_all(int fd, const std::string& bytes)
{
    std::size_t done = 0;
    while (done < bytes.size()) {
        auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
        REQUIRE(n > 0);
        done += static_cast<std::size_t>(n);
    }
}

// The names of the files in `dir`, sorted.
std::vector<std::string> names_in(const fs::path& dir)
{
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator{dir})
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// A stream that is not all one byte, so that a flipped byte changes the CRC
// wherever it is.
std::string sample_stream(std::size_t size)
{
    std::string stream(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        stream[i] = static_cast<char>((i * 131 + 7) & 0xff);
    return stream;
}

}  // namespace

TEST_CASE("a snapshot header formats to one block and parses back to the same fields", "[snapshot]")
{
    auto header = sample_header();
    auto block = header.format();
    CHECK(block.size() == SnapshotHeader::size);
    CHECK(block.starts_with("kmsdk-snapshot 1\n"));
    // NUL padded after the text.
    CHECK(block.back() == '\0');

    auto parsed = SnapshotHeader::parse(block);
    CHECK(parsed.key == header.key);
    CHECK(parsed.machine == header.machine);
    CHECK(parsed.stream_bytes == header.stream_bytes);
    CHECK(parsed.stream_crc == header.stream_crc);
    CHECK(parsed.created == header.created);
    CHECK(parsed.save_ms == header.save_ms);
}

TEST_CASE("a snapshot header whose machine description does not fit is refused when formatted", "[snapshot]")
{
    auto header = sample_header();
    header.machine = std::string(SnapshotHeader::size, 'x');
    CHECK_THROWS_AS(header.format(), std::runtime_error);
}

TEST_CASE("a snapshot header block without the magic, with a bad number or without `end` "
          "does not parse",
          "[snapshot]")
{
    auto good = sample_header().format();
    REQUIRE(parse_problem(good).empty());

    SECTION("no magic: a file of another program")
    {
        auto block = good;
        block.replace(0, 5, "GARBA");
        CHECK_THAT(parse_problem(block), Contains("no header"));
        CHECK_THAT(parse_problem(std::string(SnapshotHeader::size, '\0')), Contains("no header"));
        CHECK_THAT(parse_problem("QEVM"), Contains("no header"));
    }
    SECTION("another version of the format")
    {
        auto block = good;
        block.replace(0, 16, "kmsdk-snapshot 2");
        CHECK_THAT(parse_problem(block), Contains("no header"));
    }
    SECTION("a number that is not one")
    {
        auto block = good;
        auto at = block.find("stream-bytes 69147061");
        REQUIRE(at != std::string::npos);
        block.replace(at, 21, "stream-bytes zzzzzzzz");
        CHECK_THAT(parse_problem(block), Contains("bad stream-bytes line"));
    }
    SECTION("a CRC that is not hex")
    {
        auto block = good;
        auto at = block.find("stream-crc32 0badf00d");
        REQUIRE(at != std::string::npos);
        block.replace(at, 21, "stream-crc32 nothex!!");
        CHECK_THAT(parse_problem(block), Contains("bad stream-crc32 line"));
    }
    SECTION("no `end`: a header cut short")
    {
        auto block = good;
        auto at = block.find("end\n");
        REQUIRE(at != std::string::npos);
        block.replace(at, 4, std::string(4, '\0'));
        CHECK_THAT(parse_problem(block), Contains("incomplete"));
    }
    SECTION("no key")
    {
        auto header = sample_header();
        header.key.clear();
        CHECK_THAT(parse_problem(header.format()), Contains("incomplete"));
    }
    SECTION("an empty stream")
    {
        auto header = sample_header();
        header.stream_bytes = 0;
        CHECK_THAT(parse_problem(header.format()), Contains("incomplete"));
    }
}

TEST_CASE("read_snapshot_header tells a truncated and an overlong file from a good one",
          "[snapshot]")
{
    TempDir dir{"kmsdk-snapunit"};
    auto path = dir.path() / "m256-test.snap";
    auto header = sample_header();
    auto stream = sample_stream(10000);
    header.stream_bytes = stream.size();

    SECTION("the length the header says")
    {
        write_snapshot_file(path, header, stream);
        CHECK(file_problem(path).empty());
    }
    SECTION("truncated in the stream")
    {
        write_snapshot_file(path, header, stream.substr(0, 4000));
        CHECK_THAT(file_problem(path), Contains("truncated: 4000 of its 10000 bytes"));
    }
    SECTION("truncated in the header")
    {
        write_snapshot_file(path, header, stream);
        fs::resize_file(path, 1000);
        CHECK_THAT(file_problem(path), Contains("truncated: 1000 bytes, shorter than its header"));
    }
    SECTION("empty")
    {
        write_snapshot_file(path, header, stream);
        fs::resize_file(path, 0);
        CHECK_THAT(file_problem(path), Contains("truncated: 0 bytes"));
    }
    SECTION("overlong")
    {
        write_snapshot_file(path, header, stream + "more");
        CHECK_THAT(file_problem(path), Contains("overlong: 10004 of its 10000 bytes"));
    }
}

TEST_CASE("open_snapshot: no snapshot, a good one, and one under another key", "[snapshot]")
{
    TempDir dir{"kmsdk-snapunit"};
    auto path = dir.path() / "m256-test.snap";
    CHECK_FALSE(kmsdk::detail::open_snapshot(path, "0123456789abcdef"));

    auto header = sample_header();
    auto stream = sample_stream(5000);
    header.stream_bytes = stream.size();
    write_snapshot_file(path, header, stream);

    auto file = kmsdk::detail::open_snapshot(path, header.key);
    REQUIRE(file);
    // Where QEMU starts reading: the stream.
    CHECK(::lseek(file->fd.get(), 0, SEEK_CUR) == static_cast<off_t>(SnapshotHeader::size));
    CHECK(file->header.stream_bytes == stream.size());

    try {
        kmsdk::detail::open_snapshot(path, "fedcba9876543210");
        FAIL("a snapshot under another key was opened");
    } catch (const SnapshotBroken& broken) {
        CHECK_THAT(std::string{broken.what()}, Contains("stale"));
    }
}

TEST_CASE("a snapshot writer leaves nothing behind unless committed", "[snapshot]")
{
    TempDir dir{"kmsdk-snapunit"};
    auto final_path = dir.path() / "m256-test.snap";
    {
        SnapshotWriter writer{final_path};
        REQUIRE(writer.fd() >= 0);
        write_all(writer.fd(), sample_stream(3000));
        auto names = names_in(dir.path());
        REQUIRE(names.size() == 1);
        // Beside its final name, under a name clear_snapshots() knows.
        CHECK_THAT(names[0], Contains(std::string{kmsdk::detail::snapshot_temporary_marker}));
        CHECK_FALSE(fs::exists(final_path));
    }
    CHECK(names_in(dir.path()).empty());
}

TEST_CASE("a snapshot writer removes what a save killed half-way left of its own slot only",
          "[snapshot]")
{
    TempDir dir{"kmsdk-snapunit"};
    auto leftover = dir.path() / "m256-test.snap.tmp-999999-0";
    auto other_slot = dir.path() / "m512-other.snap.tmp-999999-0";
    for (const auto& path : {leftover, other_slot}) {
        std::ofstream out{path};
        out << sample_stream(100);
    }
    SnapshotWriter writer{dir.path() / "m256-test.snap"};
    CHECK_FALSE(fs::exists(leftover));
    CHECK(fs::exists(other_slot));
}

TEST_CASE("a committed snapshot writer renames a snapshot whose CRC matches its stream",
          "[snapshot]")
{
    TempDir dir{"kmsdk-snapunit"};
    auto final_path = dir.path() / "m256-test.snap";
    auto stream = sample_stream(300000);
    {
        SnapshotWriter writer{final_path};
        // QEMU writes through the fd, which starts just after the header's room.
        write_all(writer.fd(), stream);
        auto header = sample_header();
        header.stream_bytes = 1;  // filled in by commit()
        header.stream_crc = 0;
        writer.commit(header);
    }
    CHECK(names_in(dir.path()) == std::vector<std::string>{"m256-test.snap"});
    CHECK(fs::file_size(final_path) == SnapshotHeader::size + stream.size());

    {
        UniqueFd fd{::open(final_path.c_str(), O_RDONLY | O_CLOEXEC)};
        REQUIRE(fd);
        auto header = read_snapshot_header(fd.get());
        CHECK(header.key == sample_header().key);
        CHECK(header.stream_bytes == stream.size());
        CHECK(stream_intact(fd.get(), header));
        // stream_intact reads with pread: the offset QEMU would read from stays.
        CHECK(::lseek(fd.get(), 0, SEEK_CUR) == 0);
    }

    // One byte flipped in the middle of the stream.
    {
        std::fstream file{final_path, std::ios::binary | std::ios::in | std::ios::out};
        auto at = static_cast<std::streamoff>(SnapshotHeader::size + stream.size() / 2);
        file.seekg(at);
        char byte = 0;
        file.get(byte);
        file.seekp(at);
        file.put(static_cast<char>(byte ^ 0x01));
        REQUIRE(file);
    }
    UniqueFd fd{::open(final_path.c_str(), O_RDONLY | O_CLOEXEC)};
    REQUIRE(fd);
    auto header = read_snapshot_header(fd.get());
    CHECK_FALSE(stream_intact(fd.get(), header));
}

TEST_CASE("a snapshot writer given no stream does not commit", "[snapshot]")
{
    TempDir dir{"kmsdk-snapunit"};
    auto final_path = dir.path() / "m256-test.snap";
    {
        SnapshotWriter writer{final_path};
        CHECK_THROWS_AS(writer.commit(sample_header()), std::runtime_error);
    }
    CHECK(names_in(dir.path()).empty());
}

TEST_CASE("a snapshot lock is held by one maker at a time", "[snapshot]")
{
    TempDir dir{"kmsdk-snapunit"};
    auto snapshot = dir.path() / "m256-test.snap";
    using std::chrono::milliseconds;

    auto first = SnapshotLock::acquire(snapshot, Deadline{milliseconds(100)});
    REQUIRE(first);
    CHECK(fs::exists(dir.path() / "m256-test.snap.lock"));

    // flock belongs to the open file description: a second open in the same
    // process is another holder.
    auto started = std::chrono::steady_clock::now();
    auto second = SnapshotLock::acquire(snapshot, Deadline{milliseconds(200)});
    auto waited = std::chrono::steady_clock::now() - started;
    CHECK_FALSE(second);
    CHECK(waited >= milliseconds(200));
    CHECK(waited < milliseconds(2000));

    first.reset();
    auto third = SnapshotLock::acquire(snapshot, Deadline{milliseconds(200)});
    CHECK(third);
}

TEST_CASE("the wait for a snapshot lock ends as soon as its check throws", "[snapshot]")
{
    // What a Ctrl-C does while another run makes the snapshot: the guest's
    // check throws Interrupted, and the wait must not outlast it.
    TempDir dir{"kmsdk-snapunit"};
    auto snapshot = dir.path() / "m256-test.snap";
    using std::chrono::milliseconds;
    auto held = SnapshotLock::acquire(snapshot, Deadline{milliseconds(100)});
    REQUIRE(held);

    unsigned checks = 0;
    auto started = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(SnapshotLock::acquire(snapshot, Deadline{std::chrono::seconds(60)},
                                            [&checks] {
                                                if (++checks == 3)
                                                    throw std::runtime_error("interrupted");
                                            }),
                      "interrupted");
    CHECK(checks == 3);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
}
