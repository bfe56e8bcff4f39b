// SPDX-License-Identifier: GPL-2.0
#include "snapshot_store.hpp"

#include "folder_trust.hpp"
#include "kmsdk/snapshots.hpp"
#include "snapshot_ram.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sstream>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace kmsdk {
namespace detail {
namespace {

constexpr std::string_view header_magic = "kmsdk-snapshot 2\n";
// Snapshots before RAM files: the whole RAM was in the stream.
constexpr std::string_view old_header_magic = "kmsdk-snapshot 1\n";

std::string errno_text() { return std::strerror(errno); }

void pwrite_all(int fd, std::string_view bytes, off_t offset, const std::filesystem::path& path)
{
    while (!bytes.empty()) {
        auto n = ::pwrite(fd, bytes.data(), bytes.size(), offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw std::runtime_error(fmt::format("cannot write {}: {}", path.string(), errno_text()));
        bytes.remove_prefix(static_cast<std::size_t>(n));
        offset += n;
    }
}

// CRC-32 of `length` bytes from `offset`, or nullopt if they cannot all be read.
std::optional<std::uint32_t> crc_of(int fd, off_t offset, std::uint64_t length)
{
    std::vector<unsigned char> buffer(1 << 20);
    uLong crc = ::crc32(0, nullptr, 0);
    while (length > 0) {
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(length, buffer.size()));
        auto n = ::pread(fd, buffer.data(), want, offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return std::nullopt;
        crc = ::crc32_z(crc, buffer.data(), static_cast<std::size_t>(n));
        offset += n;
        length -= static_cast<std::uint64_t>(n);
    }
    return static_cast<std::uint32_t>(crc);
}

}  // namespace

std::string SnapshotHeader::format() const
{
    auto text = fmt::format("{}key {}\nmachine {}\nstream-bytes {}\nstream-crc32 {:08x}\n"
                            "id {}\nram-bytes {}\nram-xxh3 {}\ncreated {}\nsave-ms {}\nend\n",
                            header_magic, key, machine, stream_bytes, stream_crc, id, ram_bytes,
                            ram_hash, created, save_ms);
    if (text.size() > size)
        throw std::runtime_error("a snapshot header does not fit in its block: the machine "
                                 "description is too long");
    text.resize(size, '\0');
    return text;
}

SnapshotHeader SnapshotHeader::parse(std::string_view block)
{
    if (block.starts_with(old_header_magic))
        throw SnapshotBroken(fmt::format("{}saved by an older kmsdk, its RAM in the stream", stale_prefix));
    if (!block.starts_with(header_magic))
        throw SnapshotBroken("not a snapshot of this kmsdk (no header)");
    block = block.substr(0, block.find('\0'));
    SnapshotHeader header;
    bool ended = false;
    std::istringstream lines{std::string{block.substr(header_magic.size())}};
    for (std::string line; std::getline(lines, line);) {
        auto space = line.find(' ');
        auto name = line.substr(0, space);
        auto value = space == std::string::npos ? std::string{} : line.substr(space + 1);
        try {
            if (name == "key")
                header.key = value;
            else if (name == "machine")
                header.machine = value;
            else if (name == "stream-bytes")
                header.stream_bytes = std::stoull(value);
            else if (name == "stream-crc32")
                header.stream_crc = static_cast<std::uint32_t>(std::stoul(value, nullptr, 16));
            else if (name == "id")
                header.id = value;
            else if (name == "ram-bytes")
                header.ram_bytes = std::stoull(value);
            else if (name == "ram-xxh3")
                header.ram_hash = value;
            else if (name == "created")
                header.created = std::stoll(value);
            else if (name == "save-ms")
                header.save_ms = std::stoull(value);
            else if (name == "end")
                ended = true;
        } catch (const std::logic_error&) {
            throw SnapshotBroken(fmt::format("its header has a bad {} line", name));
        }
    }
    // The id names a file: nothing but hex digits may reach a path.
    bool id_ok = header.id.size() == 16 &&
                 header.id.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (!ended || header.key.empty() || header.stream_bytes == 0 || !id_ok || header.ram_bytes == 0)
        throw SnapshotBroken("its header is incomplete");
    return header;
}

namespace {

// The header's block, whole.
std::string read_block(int fd)
{
    std::string block(SnapshotHeader::size, '\0');
    auto n = ::pread(fd, block.data(), block.size(), 0);
    if (n < 0)
        throw SnapshotBroken(fmt::format("unreadable: {}", errno_text()));
    if (static_cast<std::size_t>(n) < block.size())
        throw SnapshotBroken(fmt::format("truncated: {} bytes, shorter than its header", n));
    return block;
}

}  // namespace

SnapshotHeader read_snapshot_header(int fd)
{
    auto header = SnapshotHeader::parse(read_block(fd));
    struct stat st {};
    ::fstat(fd, &st);
    auto stream = static_cast<std::uint64_t>(st.st_size) - SnapshotHeader::size;
    if (stream != header.stream_bytes)
        throw SnapshotBroken(fmt::format("{}: {} of its {} bytes",
                                         stream < header.stream_bytes ? "truncated" : "overlong",
                                         stream, header.stream_bytes));
    return header;
}

bool stream_intact(int fd, const SnapshotHeader& header)
{
    return crc_of(fd, SnapshotHeader::size, header.stream_bytes) == header.stream_crc;
}

std::filesystem::path ram_file_of(const std::filesystem::path& snapshot, std::string_view id)
{
    return snapshot.parent_path() / fmt::format("{}-{}{}", snapshot.stem().string(), id, ram_suffix);
}

namespace {

// The checks every use makes, and the key's unless it is nullopt. The fd
// is left at the start of the stream.
std::optional<SnapshotFile> open_checked(const std::filesystem::path& path,
                                         std::optional<std::string_view> key)
{
    UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (!fd) {
        if (errno == ENOENT)
            return std::nullopt;
        throw SnapshotBroken(fmt::format("unreadable: {}", errno_text()));
    }
    if (auto why = distrust_file(fd.get()))
        throw SnapshotBroken(fmt::format("not to be trusted: {}", *why));
    auto header = read_snapshot_header(fd.get());
    if (key && header.key != *key)
        throw SnapshotBroken(fmt::format("{}made by another build of QEMU, the agent or the "
                                         "kernel, or for another machine",
                                         stale_prefix));
    if (!stream_intact(fd.get(), header))
        throw SnapshotBroken("corrupt: its stream does not have the checksum it was saved with");
    auto ram = ram_file_of(path, header.id);
    check_ram_file(ram, header.ram_bytes, header.id);
    if (::lseek(fd.get(), SnapshotHeader::size, SEEK_SET) < 0)
        throw SnapshotBroken(fmt::format("unreadable: {}", errno_text()));
    return SnapshotFile{std::move(fd), std::move(header), std::move(ram)};
}

}  // namespace

std::optional<SnapshotFile> open_snapshot(const std::filesystem::path& path, std::string_view key)
{
    return open_checked(path, key);
}

void verify_snapshot(const std::filesystem::path& path)
{
    auto file = open_checked(path, std::nullopt);
    if (!file)
        throw SnapshotBroken("gone: removed while it was checked");
    UniqueFd ram{::open(file->ram.c_str(), O_RDONLY | O_CLOEXEC)};
    if (!ram)
        throw SnapshotBroken(fmt::format("its RAM file is unreadable: {}", errno_text()));
    if (ram_content_hash(ram.get(), file->header.ram_bytes) != file->header.ram_hash)
        throw SnapshotBroken("corrupt: its RAM does not have the hash it was saved with");
}

std::optional<SnapshotLock> SnapshotLock::acquire(const std::filesystem::path& snapshot,
                                                  const Deadline& deadline,
                                                  const std::function<void()>& check)
{
    auto path = snapshot;
    path += ".lock";
    create_private_folder(path.parent_path());
    UniqueFd fd{::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)};
    if (!fd)
        throw std::runtime_error(fmt::format("cannot open {}: {}", path.string(), errno_text()));
    for (;;) {
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0)
            return SnapshotLock{std::move(fd)};
        if (errno != EWOULDBLOCK && errno != EINTR)
            throw std::runtime_error(fmt::format("cannot lock {}: {}", path.string(), errno_text()));
        if (deadline.expired())
            return std::nullopt;
        if (check)
            check();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

namespace {

// Room for a RAM file that may grow to `ram_bytes`, and then some: the
// saving guest dies of SIGBUS if its RAM file cannot grow.
void check_room(const std::filesystem::path& dir, std::uint64_t ram_bytes)
{
    struct statvfs fs {};
    if (::statvfs(dir.c_str(), &fs) != 0)
        throw std::runtime_error(fmt::format("cannot examine {}: {}", dir.string(), errno_text()));
    auto free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    auto needed = ram_bytes + (64ULL << 20);
    if (free_bytes < needed)
        throw std::runtime_error(fmt::format("{} MB free there; saving a guest of {} MiB needs up to {} MB",
                                             free_bytes / 1'000'000, ram_bytes >> 20,
                                             (needed + 999'999) / 1'000'000));
}

std::string random_id()
{
    std::uint64_t bits = 0;
    if (::getrandom(&bits, sizeof bits, 0) != static_cast<ssize_t>(sizeof bits))
        throw std::runtime_error(fmt::format("getrandom: {}", errno_text()));
    return fmt::format("{:016x}", bits);
}

}  // namespace

SnapshotWriter::SnapshotWriter(std::filesystem::path final_path, std::uint64_t ram_bytes)
    : final_{std::move(final_path)}, ram_bytes_{ram_bytes}
{
    static std::atomic<unsigned> counter{0};
    create_private_folder(final_.parent_path());
    // A run killed while saving leaves its temporaries behind (a RAM file
    // of up to the guest's memory). Whoever writes holds the slot's lock,
    // so any other is such a leftover.
    auto leftover_prefix = final_.stem().string() + std::string{snapshot_temporary_marker};
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator{final_.parent_path(), error})
        if (entry.path().filename().string().starts_with(leftover_prefix))
            std::filesystem::remove(entry.path(), error);
    check_room(final_.parent_path(), ram_bytes_);
    temporary_ = final_.parent_path() /
                 fmt::format("{}{}{}-{}", final_.stem().string(), snapshot_temporary_marker,
                             ::getpid(), counter++);
    ram_temporary_ = temporary_;
    ram_temporary_ += ram_suffix;
    stream_fd_ = UniqueFd{::open(temporary_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
    if (!stream_fd_)
        throw std::runtime_error(fmt::format("cannot create {}: {}", temporary_.string(), errno_text()));
    // Room for the header, which is written once the stream's size is known.
    if (::lseek(stream_fd_.get(), SnapshotHeader::size, SEEK_SET) < 0)
        throw std::runtime_error(fmt::format("cannot seek in {}: {}", temporary_.string(), errno_text()));
    // Empty: QEMU sizes it, and it stays sparse where the guest never writes.
    UniqueFd ram{::open(ram_temporary_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
    if (!ram)
        throw std::runtime_error(fmt::format("cannot create {}: {}", ram_temporary_.string(), errno_text()));
}

SnapshotWriter::~SnapshotWriter()
{
    if (!committed_) {
        stream_fd_.reset();
        std::error_code ignored;
        std::filesystem::remove(temporary_, ignored);
        std::filesystem::remove(ram_temporary_, ignored);
    }
}

void SnapshotWriter::commit(SnapshotHeader header)
{
    struct stat st {};
    if (::fstat(stream_fd_.get(), &st) != 0 || static_cast<std::size_t>(st.st_size) <= SnapshotHeader::size)
        throw std::runtime_error(fmt::format("QEMU wrote no snapshot into {}", temporary_.string()));
    header.stream_bytes = static_cast<std::uint64_t>(st.st_size) - SnapshotHeader::size;
    auto crc = crc_of(stream_fd_.get(), SnapshotHeader::size, header.stream_bytes);
    if (!crc)
        throw std::runtime_error(fmt::format("cannot read back {}", temporary_.string()));
    header.stream_crc = *crc;

    UniqueFd ram{::open(ram_temporary_.c_str(), O_RDWR | O_CLOEXEC)};
    if (!ram || ::fstat(ram.get(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) != ram_bytes_)
        throw std::runtime_error(fmt::format("QEMU left no RAM of {} MiB in {}", ram_bytes_ >> 20,
                                             ram_temporary_.string()));
    header.id = random_id();
    header.ram_bytes = ram_bytes_;
    try {
        header.ram_hash = ram_content_hash(ram.get(), ram_bytes_);
    } catch (const SnapshotBroken& error) {
        throw std::runtime_error(fmt::format("cannot read back {}: {}", ram_temporary_.string(), error.what()));
    }
    write_ram_trailer(ram.get(), ram_bytes_, header.id, ram_temporary_);
    if (::close(ram.release()) != 0)
        throw std::runtime_error(fmt::format("cannot write {}: {}", ram_temporary_.string(), errno_text()));
    pwrite_all(stream_fd_.get(), header.format(), 0, temporary_);
    if (::close(stream_fd_.release()) != 0)
        throw std::runtime_error(fmt::format("cannot write {}: {}", temporary_.string(), errno_text()));

    auto ram_final = ram_file_of(final_, header.id);
    std::filesystem::rename(ram_temporary_, ram_final);
    // The commit: from here on, restores find the new pair.
    std::filesystem::rename(temporary_, final_);
    committed_ = true;
    // The replaced snapshot's RAM (guests restored from it keep their
    // mapping), and any a killed run had renamed but not committed.
    auto prefix = final_.stem().string() + "-";
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator{final_.parent_path(), error}) {
        auto name = entry.path().filename().string();
        if (name.starts_with(prefix) && name.ends_with(ram_suffix) && entry.path() != ram_final)
            std::filesystem::remove(entry.path(), error);
    }
}

std::uintmax_t disk_usage(const std::filesystem::path& path)
{
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uintmax_t>(st.st_blocks) * 512 : 0;
}

}  // namespace detail

std::filesystem::path snapshot_dir(const Kernel& kernel)
{
    if (const char* chosen = std::getenv("KMSDK_SNAPSHOT_DIR"); chosen && *chosen)
        return std::filesystem::path{chosen} / kernel.release();
    return kernel.dir() / "snapshots";
}

namespace {

bool is_snapshot_file(const std::filesystem::path& path)
{
    auto name = path.filename().string();
    return name.ends_with(detail::snapshot_suffix) || name.ends_with(detail::ram_suffix) ||
           name.find(detail::snapshot_temporary_marker) != std::string::npos ||
           name.ends_with(".snap.lock");
}

// Where a kernel's snapshots are: its folder, and the staged snapshots' in it.
std::vector<std::filesystem::path> snapshot_folders(const Kernel& kernel)
{
    auto dir = snapshot_dir(kernel);
    return {dir, dir / detail::staged_folder_name};
}

}  // namespace

namespace {

SnapshotInfo describe(const std::filesystem::path& path, const std::string& release, SnapshotCheck check)
{
    SnapshotInfo info;
    info.path = path;
    info.release = release;
    info.size = detail::disk_usage(path);
    detail::UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    try {
        if (!fd)
            throw detail::SnapshotBroken(fmt::format("unreadable: {}", std::strerror(errno)));
        auto header = detail::read_snapshot_header(fd.get());
        info.machine = header.machine;
        info.key = header.key;
        info.created = std::chrono::system_clock::from_time_t(header.created);
        info.save_time = std::chrono::milliseconds(header.save_ms);
        auto ram = detail::ram_file_of(path, header.id);
        info.size += detail::disk_usage(ram);
        if (check == SnapshotCheck::thorough)
            detail::verify_snapshot(path);
        else
            detail::check_ram_file(ram, header.ram_bytes, header.id);
    } catch (const detail::SnapshotBroken& broken) {
        info.problem = broken.what();
    }
    return info;
}

}  // namespace

std::vector<SnapshotInfo> list_snapshots(SnapshotCheck check)
{
    std::vector<SnapshotInfo> found;
    for (const auto& kernel : Kernel::list()) {
        std::error_code error;
        for (const auto& folder : snapshot_folders(kernel))
            for (const auto& entry : std::filesystem::directory_iterator{folder, error})
                if (entry.path().filename().string().ends_with(detail::snapshot_suffix))
                    found.push_back(describe(entry.path(), kernel.release(), check));
    }
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.created > b.created; });
    return found;
}

std::size_t clear_snapshots()
{
    std::size_t removed = 0;
    for (const auto& kernel : Kernel::list()) {
        std::error_code error;
        for (const auto& folder : snapshot_folders(kernel))
            for (const auto& entry : std::filesystem::directory_iterator{folder, error})
                if (is_snapshot_file(entry.path()) && std::filesystem::remove(entry.path(), error))
                    ++removed;
    }
    return removed;
}

}  // namespace kmsdk
