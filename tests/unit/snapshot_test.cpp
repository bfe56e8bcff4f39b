// SPDX-License-Identifier: GPL-2.0
// The files behind snapshots, without a guest: the header survives a round
// trip and refuses what this build did not write; a file's length must be
// the header's; a writer leaves either a complete snapshot (stream and RAM
// file) or nothing; the CRC catches one flipped byte in the stream and the
// hash one in the RAM; a RAM file that is truncated, missing or another
// snapshot's is refused; snapshots are used only from folders no one else
// can write; one maker at a time holds the lock. A RAM file's copy is as
// sparse as the original and hashes the same; staged snapshots past their
// limit go least recently used first; the limit's variable takes sizes.
#include "folder_trust.hpp"
#include "scoped_env.hpp"
#include "snapshot_eviction.hpp"
#include "snapshot_ram.hpp"
#include "snapshot_store.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
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
    SnapshotHeader header;
    header.key = "0123456789abcdef";
    header.machine = "256 MiB, tcg, devices: edu";
    header.stream_bytes = 169147;
    header.stream_crc = 0x0badf00d;
    header.id = "00112233aabbccdd";
    header.ram_bytes = 256 << 20;
    header.ram_hash = "0123456789abcdef";
    header.created = 1700000000;
    header.save_ms = 12;
    return header;
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

constexpr std::uint64_t ram_bytes = 1 << 20;

// A committed snapshot at `path`, as a save makes it: the stream through the
// writer's fd, a sparse RAM file as QEMU leaves it. Its header.
SnapshotHeader make_snapshot(const fs::path& path, const std::string& stream)
{
    SnapshotWriter writer{path, ram_bytes};
    write_all(writer.stream_fd(), stream);
    {
        UniqueFd ram{::open(writer.ram().c_str(), O_RDWR | O_CLOEXEC)};
        REQUIRE(ram);
        REQUIRE(::ftruncate(ram.get(), ram_bytes) == 0);
        auto data = sample_stream(20000);
        REQUIRE(::pwrite(ram.get(), data.data(), data.size(), 8192) == static_cast<ssize_t>(data.size()));
    }
    writer.commit(sample_header());
    UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    REQUIRE(fd);
    return read_snapshot_header(fd.get());
}

void flip_byte(const fs::path& path, std::streamoff at)
{
    std::fstream file{path, std::ios::binary | std::ios::in | std::ios::out};
    file.seekg(at);
    char byte = 0;
    file.get(byte);
    file.seekp(at);
    file.put(static_cast<char>(byte ^ 0x01));
    REQUIRE(file);
}

// What open_snapshot() says about `path`, or "" when it opens it.
std::string broken_on_open(const fs::path& path, const std::string& key)
{
    try {
        return kmsdk::detail::open_snapshot(path, key) ? "" : "no snapshot";
    } catch (const SnapshotBroken& broken) {
        return broken.what();
    }
}

// What verify_snapshot() says about `path`, or "" when it passes.
std::string broken_by_verify(const fs::path& path)
{
    try {
        kmsdk::detail::verify_snapshot(path);
        return {};
    } catch (const SnapshotBroken& broken) {
        return broken.what();
    }
}

}  // namespace

TEST_CASE("a snapshot header formats to one block and parses back to the same fields", "[snapshot]")
{
    auto header = sample_header();
    auto block = header.format();
    CHECK(block.size() == SnapshotHeader::size);
    CHECK(block.starts_with("kmsdk-snapshot 2\n"));
    // NUL padded after the text.
    CHECK(block.back() == '\0');

    auto parsed = SnapshotHeader::parse(block);
    CHECK(parsed.key == header.key);
    CHECK(parsed.machine == header.machine);
    CHECK(parsed.stream_bytes == header.stream_bytes);
    CHECK(parsed.stream_crc == header.stream_crc);
    CHECK(parsed.id == header.id);
    CHECK(parsed.ram_bytes == header.ram_bytes);
    CHECK(parsed.ram_hash == header.ram_hash);
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
        block.replace(0, 16, "kmsdk-snapshot 3");
        CHECK_THAT(parse_problem(block), Contains("no header"));
        // The format before RAM files.
        block.replace(0, 16, "kmsdk-snapshot 1");
        CHECK_THAT(parse_problem(block), Contains("stale: saved by an older kmsdk"));
    }
    SECTION("a number that is not one")
    {
        auto block = good;
        auto at = block.find("stream-bytes 169147");
        REQUIRE(at != std::string::npos);
        block.replace(at, 19, "stream-bytes zzzzzz");
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
    SECTION("an id that could name a file elsewhere")
    {
        auto header = sample_header();
        header.id = "../../etc/passwd";
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

    auto stream = sample_stream(5000);
    auto header = make_snapshot(path, stream);

    auto file = kmsdk::detail::open_snapshot(path, header.key);
    REQUIRE(file);
    // Where QEMU starts reading: the stream.
    CHECK(::lseek(file->fd.get(), 0, SEEK_CUR) == static_cast<off_t>(SnapshotHeader::size));
    CHECK(file->header.stream_bytes == stream.size());
    CHECK(file->ram == kmsdk::detail::ram_file_of(path, header.id));

    CHECK_THAT(broken_on_open(path, "fedcba9876543210"), Contains("stale"));
}

TEST_CASE("a snapshot writer leaves nothing behind unless committed", "[snapshot]")
{
    TempDir dir{"kmsdk-snapunit"};
    auto final_path = dir.path() / "m256-test.snap";
    {
        SnapshotWriter writer{final_path, ram_bytes};
        REQUIRE(writer.stream_fd() >= 0);
        write_all(writer.stream_fd(), sample_stream(3000));
        auto names = names_in(dir.path());
        // The stream and the RAM, beside the final name, under names
        // clear_snapshots() knows.
        REQUIRE(names.size() == 2);
        for (const auto& name : names)
            CHECK_THAT(name, Contains(std::string{kmsdk::detail::snapshot_temporary_marker}));
        CHECK(fs::file_size(writer.ram()) == 0);
        CHECK_FALSE(fs::exists(final_path));
    }
    CHECK(names_in(dir.path()).empty());
}

TEST_CASE("a snapshot writer removes what a save killed half-way left of its own slot only",
          "[snapshot]")
{
    TempDir dir{"kmsdk-snapunit"};
    auto leftover = dir.path() / "m256-test.snap.tmp-999999-0";
    auto leftover_ram = dir.path() / "m256-test.snap.tmp-999999-0.ram";
    auto other_slot = dir.path() / "m512-other.snap.tmp-999999-0";
    for (const auto& path : {leftover, leftover_ram, other_slot}) {
        std::ofstream out{path};
        out << sample_stream(100);
    }
    SnapshotWriter writer{dir.path() / "m256-test.snap", ram_bytes};
    CHECK_FALSE(fs::exists(leftover));
    CHECK_FALSE(fs::exists(leftover_ram));
    CHECK(fs::exists(other_slot));
}

TEST_CASE("a committed snapshot writer renames a snapshot whose CRC matches its stream",
          "[snapshot]")
{
    TempDir dir{"kmsdk-snapunit"};
    auto final_path = dir.path() / "m256-test.snap";
    auto stream = sample_stream(300000);
    auto header = make_snapshot(final_path, stream);
    auto ram = kmsdk::detail::ram_file_of(final_path, header.id);
    CHECK(names_in(dir.path()) == std::vector<std::string>{ram.filename().string(), "m256-test.snap"});
    CHECK(fs::file_size(final_path) == SnapshotHeader::size + stream.size());
    CHECK(fs::file_size(ram) == ram_bytes + kmsdk::detail::ram_trailer_size);

    {
        UniqueFd fd{::open(final_path.c_str(), O_RDONLY | O_CLOEXEC)};
        REQUIRE(fd);
        auto read = read_snapshot_header(fd.get());
        CHECK(read.key == sample_header().key);
        CHECK(read.stream_bytes == stream.size());
        CHECK(read.ram_bytes == ram_bytes);
        CHECK(read.id == header.id);
        CHECK(stream_intact(fd.get(), read));
        // stream_intact reads with pread: the offset QEMU would read from stays.
        CHECK(::lseek(fd.get(), 0, SEEK_CUR) == 0);
    }
    CHECK(broken_by_verify(final_path).empty());

    // One byte flipped in the middle of the stream.
    flip_byte(final_path, static_cast<std::streamoff>(SnapshotHeader::size + stream.size() / 2));
    UniqueFd fd{::open(final_path.c_str(), O_RDONLY | O_CLOEXEC)};
    REQUIRE(fd);
    CHECK_FALSE(stream_intact(fd.get(), read_snapshot_header(fd.get())));
    CHECK_THAT(broken_by_verify(final_path), Contains("corrupt: its stream"));
}

TEST_CASE("a snapshot writer given no stream does not commit", "[snapshot]")
{
    TempDir dir{"kmsdk-snapunit"};
    auto final_path = dir.path() / "m256-test.snap";
    {
        SnapshotWriter writer{final_path, ram_bytes};
        CHECK_THROWS_AS(writer.commit(sample_header()), std::runtime_error);
    }
    CHECK(names_in(dir.path()).empty());
}

TEST_CASE("a snapshot writer refuses to start without room for the guest's RAM", "[snapshot]")
{
    TempDir dir{"kmsdk-snapunit"};
    // More than any disk here has free.
    CHECK_THROWS_WITH(SnapshotWriter(dir.path() / "m256-test.snap", std::uint64_t{1} << 60),
                      Contains("MB free there; saving a guest of"));
    CHECK(names_in(dir.path()).empty());
}

TEST_CASE("a new snapshot's commit removes the RAM file of the one it replaces", "[snapshot]")
{
    TempDir dir{"kmsdk-snapunit"};
    auto final_path = dir.path() / "m256-test.snap";
    auto first = make_snapshot(final_path, sample_stream(1000));
    auto second = make_snapshot(final_path, sample_stream(2000));
    REQUIRE(first.id != second.id);
    CHECK_FALSE(fs::exists(kmsdk::detail::ram_file_of(final_path, first.id)));
    CHECK(fs::exists(kmsdk::detail::ram_file_of(final_path, second.id)));
    CHECK(names_in(dir.path()).size() == 2);
    CHECK(kmsdk::detail::open_snapshot(final_path, sample_header().key));
}

TEST_CASE("a snapshot's RAM file must be its own, whole and unchanged", "[snapshot]")
{
    TempDir dir{"kmsdk-snapunit"};
    auto path = dir.path() / "m256-test.snap";
    auto header = make_snapshot(path, sample_stream(1000));
    auto ram = kmsdk::detail::ram_file_of(path, header.id);
    const auto& key = sample_header().key;
    REQUIRE(broken_on_open(path, key).empty());

    SECTION("truncated")
    {
        fs::resize_file(ram, ram_bytes / 2);
        CHECK_THAT(broken_on_open(path, key), Contains("truncated: its RAM file has"));
    }
    SECTION("missing")
    {
        fs::remove(ram);
        CHECK_THAT(broken_on_open(path, key), Contains("missing its RAM file"));
    }
    SECTION("another snapshot's, under this one's name")
    {
        auto other_path = dir.path() / "m512-other.snap";
        auto other = make_snapshot(other_path, sample_stream(1000));
        fs::copy_file(kmsdk::detail::ram_file_of(other_path, other.id), ram,
                      fs::copy_options::overwrite_existing);
        CHECK_THAT(broken_on_open(path, key), Contains("mismatched"));
    }
    SECTION("one byte changed: only the full hash of verify sees it")
    {
        flip_byte(ram, 12345);
        CHECK(broken_on_open(path, key).empty());
        CHECK_THAT(broken_by_verify(path), Contains("corrupt: its RAM"));
    }
    SECTION("writable by others")
    {
        fs::permissions(path, fs::perms::others_write, fs::perm_options::add);
        CHECK_THAT(broken_on_open(path, key), Contains("not to be trusted: writable by others"));
    }
}

TEST_CASE("a RAM file's hash reads holes as zeros", "[snapshot]")
{
    TempDir dir{"kmsdk-snapunit"};
    auto sparse = dir.path() / "sparse";
    auto dense = dir.path() / "dense";
    constexpr std::uint64_t size = 5 << 20;
    auto data = sample_stream(70000);
    for (const auto& path : {sparse, dense}) {
        UniqueFd fd{::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)};
        REQUIRE(fd);
        if (path == dense)
            write_all(fd.get(), std::string(size, '\0'));
        REQUIRE(::ftruncate(fd.get(), static_cast<off_t>(size)) == 0);
        REQUIRE(::pwrite(fd.get(), data.data(), data.size(), 3 << 20) == static_cast<ssize_t>(data.size()));
    }
    UniqueFd a{::open(sparse.c_str(), O_RDONLY | O_CLOEXEC)};
    UniqueFd b{::open(dense.c_str(), O_RDONLY | O_CLOEXEC)};
    auto hash = kmsdk::detail::ram_content_hash(a.get(), size);
    CHECK(hash.size() == 16);
    CHECK(hash == kmsdk::detail::ram_content_hash(b.get(), size));
    // Not a hash of nothing: the data counts.
    CHECK(hash != kmsdk::detail::ram_content_hash(a.get(), 3 << 20));
}

TEST_CASE("a RAM file's copy holds the same RAM, no more of it on disk, and no trailer",
          "[snapshot]")
{
    TempDir dir{"kmsdk-snapunit"};
    auto path = dir.path() / "m256-test.snap";
    auto header = make_snapshot(path, sample_stream(1000));
    auto ram = kmsdk::detail::ram_file_of(path, header.id);
    auto copy = dir.path() / "copy.ram";
    { std::ofstream{copy} << "what was there before"; }
    kmsdk::detail::copy_ram(ram, copy, ram_bytes);
    CHECK(fs::file_size(copy) == ram_bytes);
    UniqueFd original{::open(ram.c_str(), O_RDONLY | O_CLOEXEC)};
    UniqueFd copied{::open(copy.c_str(), O_RDONLY | O_CLOEXEC)};
    CHECK(kmsdk::detail::ram_content_hash(copied.get(), ram_bytes) == header.ram_hash);
    CHECK(kmsdk::detail::ram_content_hash(copied.get(), ram_bytes) ==
          kmsdk::detail::ram_content_hash(original.get(), ram_bytes));
    // 20000 bytes were written at 8 KiB: the copy's blocks cover those, not the megabyte.
    CHECK(kmsdk::detail::disk_usage(copy) <= kmsdk::detail::disk_usage(ram));
    CHECK(kmsdk::detail::disk_usage(copy) < ram_bytes / 4);
    CHECK_THROWS_WITH(kmsdk::detail::copy_ram(dir.path() / "absent.ram", copy, ram_bytes),
                      Contains("cannot read") && Contains("absent.ram"));
}

namespace {

// A staged snapshot `stem` in `dir` taking about `megabytes` on disk, last
// used `age` ago.
void make_staged(const fs::path& dir, const std::string& stem, unsigned megabytes,
                 std::chrono::seconds age)
{
    auto snap = dir / (stem + ".snap");
    std::ofstream{snap} << "header";
    {
        std::ofstream ram{dir / (stem + "-0011223344556677.ram"), std::ios::binary};
        ram << std::string(megabytes << 20, 'x');
    }
    fs::last_write_time(snap, fs::file_time_type::clock::now() - age);
}

}  // namespace

TEST_CASE("staged snapshots past their limit go least recently used first, the new one stays",
          "[snapshot]")
{
    using kmsdk::detail::evict_least_recent;
    TempDir dir{"kmsdk-snapunit"};
    make_staged(dir.path(), "m256-a-old", 2, std::chrono::seconds(300));
    make_staged(dir.path(), "m256-a-used", 2, std::chrono::seconds(10));
    make_staged(dir.path(), "m256-a-middle", 2, std::chrono::seconds(100));
    make_staged(dir.path(), "m256-a-new", 3, std::chrono::seconds(0));
    // A RAM file being committed, its .snap not there yet, is left alone.
    { std::ofstream{dir.path() / "m256-a-committing-8899aabbccddeeff.ram"} << "x"; }
    auto keep = dir.path() / "m256-a-new.snap";

    SECTION("within the limit nothing goes")
    {
        CHECK(evict_least_recent(dir.path(), 100'000'000, keep) == 0);
        CHECK(names_in(dir.path()).size() == 9);
    }
    SECTION("past it, the oldest go until the rest fit")
    {
        // 9 MiB in all; 6 MB keeps the newest two.
        CHECK(evict_least_recent(dir.path(), 6'000'000, keep) == 2);
        CHECK(names_in(dir.path()) ==
              std::vector<std::string>{"m256-a-committing-8899aabbccddeeff.ram",
                                       "m256-a-new-0011223344556677.ram", "m256-a-new.snap",
                                       "m256-a-used-0011223344556677.ram", "m256-a-used.snap"});
    }
    SECTION("the one just made stays even when it alone is past the limit")
    {
        CHECK(evict_least_recent(dir.path(), 1, keep) == 3);
        CHECK(names_in(dir.path()) ==
              std::vector<std::string>{"m256-a-committing-8899aabbccddeeff.ram",
                                       "m256-a-new-0011223344556677.ram", "m256-a-new.snap"});
    }
}

TEST_CASE("KMSDK_STAGED_SNAPSHOT_LIMIT takes bytes or K, M and G, and says what else it takes",
          "[snapshot]")
{
    using kmsdk::detail::ScopedEnv;
    using kmsdk::detail::staged_snapshot_limit;
    {
        ScopedEnv unset{"KMSDK_STAGED_SNAPSHOT_LIMIT", nullptr};
        CHECK(staged_snapshot_limit() == 2'000'000'000);
    }
    for (auto [text, bytes] : std::vector<std::pair<const char*, std::uint64_t>>{
             {"0", 0}, {"12345", 12345}, {"500M", 500'000'000}, {"3g", 3'000'000'000}, {"64K", 64'000}}) {
        ScopedEnv set{"KMSDK_STAGED_SNAPSHOT_LIMIT", text};
        CHECK(staged_snapshot_limit() == bytes);
    }
    for (const char* text : {"abc", "-1", "1.5G", "G", "10T", "1 G", "9999999999999999"}) {
        INFO(text);
        ScopedEnv set{"KMSDK_STAGED_SNAPSHOT_LIMIT", text};
        CHECK_THROWS_WITH(staged_snapshot_limit(),
                          Contains(fmt::format("KMSDK_STAGED_SNAPSHOT_LIMIT={} is not a size", text)) &&
                              Contains("K, M or G"));
    }
}

TEST_CASE("snapshots are used only from folders no one else can write", "[snapshot]")
{
    using kmsdk::detail::distrust_folder;
    TempDir dir{"kmsdk-snapunit"};
    auto folder = dir.path() / "cache" / "6.1";
    CHECK_FALSE(distrust_folder(folder));  // not there yet

    // Made under a umask that would leave it writable by its group.
    auto old_mask = ::umask(002);
    kmsdk::detail::create_private_folder(folder);
    ::umask(old_mask);
    CHECK((fs::status(folder).permissions() & fs::perms::group_write) == fs::perms::none);
    CHECK_FALSE(distrust_folder(folder));

    fs::permissions(folder, fs::perms::group_write, fs::perm_options::add);
    CHECK_THAT(*distrust_folder(folder), Contains("is writable by its group (mode 0775)"));
    fs::permissions(folder, fs::perms::group_write, fs::perm_options::remove);

    // Whoever can write the parent can swap the folder...
    fs::permissions(folder.parent_path(), fs::perms::others_write, fs::perm_options::add);
    CHECK_THAT(*distrust_folder(folder), Contains((dir.path() / "cache").string()));
    // ...unless the sticky bit stops them, as on /tmp.
    fs::permissions(folder.parent_path(), fs::perms::sticky_bit, fs::perm_options::add);
    CHECK_FALSE(distrust_folder(folder));
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
