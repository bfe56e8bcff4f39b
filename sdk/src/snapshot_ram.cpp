// SPDX-License-Identifier: GPL-2.0
#include "snapshot_ram.hpp"

#include "snapshot_broken.hpp"
#include "unique_fd.hpp"
#include "xxh3_hash.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace kmsdk::detail {
namespace {

constexpr std::string_view trailer_magic = "kmsdk-snapshot-ram 1\n";

std::string trailer_for(std::string_view id)
{
    auto text = fmt::format("{}id {}\nend\n", trailer_magic, id);
    text.resize(ram_trailer_size, '\0');
    return text;
}

}  // namespace

void write_ram_trailer(int fd, std::uint64_t ram_bytes, std::string_view id,
                       const std::filesystem::path& path)
{
    auto trailer = trailer_for(id);
    auto written = ::pwrite(fd, trailer.data(), trailer.size(), static_cast<off_t>(ram_bytes));
    if (written != static_cast<ssize_t>(trailer.size()))
        throw std::runtime_error(fmt::format("cannot write {}: {}", path.string(),
                                             written < 0 ? std::strerror(errno) : "short write"));
}

void check_ram_file(const std::filesystem::path& path, std::uint64_t ram_bytes, std::string_view id)
{
    UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (!fd)
        throw SnapshotBroken(errno == ENOENT
                                 ? fmt::format("missing its RAM file {}", path.filename().string())
                                 : fmt::format("its RAM file is unreadable: {}", std::strerror(errno)));
    struct stat st {};
    ::fstat(fd.get(), &st);
    auto size = static_cast<std::uint64_t>(st.st_size);
    if (size != ram_bytes + ram_trailer_size)
        throw SnapshotBroken(fmt::format("{}: its RAM file has {} of its {} bytes",
                                         size < ram_bytes + ram_trailer_size ? "truncated" : "overlong",
                                         size, ram_bytes + ram_trailer_size));
    std::string trailer(ram_trailer_size, '\0');
    auto n = ::pread(fd.get(), trailer.data(), trailer.size(), static_cast<off_t>(ram_bytes));
    if (n != static_cast<ssize_t>(trailer.size()))
        throw SnapshotBroken("its RAM file's trailer is unreadable");
    if (!trailer.starts_with(trailer_magic))
        throw SnapshotBroken("its RAM file has no trailer: not a RAM file kmsdk saved");
    if (trailer != trailer_for(id))
        throw SnapshotBroken("mismatched: its RAM file belongs to another snapshot");
}

namespace {

// Calls `extent(start, end, data)` for each run of [0, ram_bytes) in order:
// data where the file has blocks, holes (which read as zeros) between.
void for_each_extent(int fd, std::uint64_t ram_bytes,
                     const std::function<void(std::uint64_t, std::uint64_t, bool)>& extent)
{
    std::uint64_t offset = 0;
    auto clamp = [&](off_t found) {
        return found < 0 ? ram_bytes : std::min<std::uint64_t>(static_cast<std::uint64_t>(found), ram_bytes);
    };
    while (offset < ram_bytes) {
        auto data_start = clamp(::lseek(fd, static_cast<off_t>(offset), SEEK_DATA));
        if (data_start > offset)
            extent(offset, data_start, false);
        if (data_start >= ram_bytes)
            break;
        auto data_end = clamp(::lseek(fd, static_cast<off_t>(data_start), SEEK_HOLE));
        extent(data_start, data_end, true);
        offset = data_end;
    }
}

}  // namespace

std::string ram_content_hash(int fd, std::uint64_t ram_bytes)
{
    Xxh3Hash hash;
    constexpr std::size_t chunk = 1 << 20;
    static const std::vector<unsigned char> zeros(chunk);
    std::vector<unsigned char> buffer(chunk);
    for_each_extent(fd, ram_bytes, [&](std::uint64_t offset, std::uint64_t end, bool data) {
        while (offset < end) {
            auto want = static_cast<std::size_t>(std::min<std::uint64_t>(end - offset, chunk));
            if (!data) {
                hash.add(zeros.data(), want);
                offset += want;
                continue;
            }
            auto n = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                throw SnapshotBroken(fmt::format("its RAM file is unreadable at byte {}", offset));
            hash.add(buffer.data(), static_cast<std::size_t>(n));
            offset += static_cast<std::uint64_t>(n);
        }
    });
    return hash.hex();
}

void copy_ram(const std::filesystem::path& from, const std::filesystem::path& to, std::uint64_t ram_bytes)
{
    UniqueFd source{::open(from.c_str(), O_RDONLY | O_CLOEXEC)};
    if (!source)
        throw std::runtime_error(fmt::format("cannot read {}: {}", from.string(), std::strerror(errno)));
    UniqueFd target{::open(to.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC)};
    if (!target)
        throw std::runtime_error(fmt::format("cannot write {}: {}", to.string(), std::strerror(errno)));
    // Sized first, so the holes between the copied extents stay holes.
    if (::ftruncate(target.get(), static_cast<off_t>(ram_bytes)) != 0)
        throw std::runtime_error(fmt::format("cannot size {}: {}", to.string(), std::strerror(errno)));
    for_each_extent(source.get(), ram_bytes, [&](std::uint64_t offset, std::uint64_t end, bool data) {
        while (data && offset < end) {
            auto in = static_cast<off_t>(offset);
            auto out = in;
            auto n = ::copy_file_range(source.get(), &in, target.get(), &out,
                                       static_cast<std::size_t>(end - offset), 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                throw std::runtime_error(fmt::format("cannot copy {} into {}: {}", from.string(),
                                                     to.string(),
                                                     n < 0 ? std::strerror(errno) : "it ended early"));
            offset += static_cast<std::uint64_t>(n);
        }
    });
}

}  // namespace kmsdk::detail
