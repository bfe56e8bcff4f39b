// SPDX-License-Identifier: GPL-2.0
#include "snapshot_ram.hpp"

#include "snapshot_broken.hpp"
#include "unique_fd.hpp"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
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

struct HashState {
    void operator()(XXH3_state_t* state) const { XXH3_freeState(state); }
};

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

std::string ram_content_hash(int fd, std::uint64_t ram_bytes)
{
    std::unique_ptr<XXH3_state_t, HashState> state{XXH3_createState()};
    if (!state || XXH3_64bits_reset(state.get()) != XXH_OK)
        throw std::bad_alloc();
    constexpr std::size_t chunk = 1 << 20;
    static const std::vector<unsigned char> zeros(chunk);
    std::vector<unsigned char> buffer(chunk);
    auto hash_zeros = [&](std::uint64_t length) {
        while (length > 0) {
            auto n = static_cast<std::size_t>(std::min<std::uint64_t>(length, chunk));
            XXH3_64bits_update(state.get(), zeros.data(), n);
            length -= n;
        }
    };
    std::uint64_t offset = 0;
    while (offset < ram_bytes) {
        // Only the parts the guest wrote are read; holes hash as zeros.
        auto data = ::lseek(fd, static_cast<off_t>(offset), SEEK_DATA);
        auto data_start = data < 0 ? ram_bytes : std::min<std::uint64_t>(static_cast<std::uint64_t>(data), ram_bytes);
        hash_zeros(data_start - offset);
        offset = data_start;
        if (offset >= ram_bytes)
            break;
        auto hole = ::lseek(fd, static_cast<off_t>(offset), SEEK_HOLE);
        auto data_end = hole < 0 ? ram_bytes : std::min<std::uint64_t>(static_cast<std::uint64_t>(hole), ram_bytes);
        while (offset < data_end) {
            auto want = static_cast<std::size_t>(std::min<std::uint64_t>(data_end - offset, chunk));
            auto n = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                throw SnapshotBroken(fmt::format("its RAM file is unreadable at byte {}", offset));
            XXH3_64bits_update(state.get(), buffer.data(), static_cast<std::size_t>(n));
            offset += static_cast<std::uint64_t>(n);
        }
    }
    return fmt::format("{:016x}", XXH3_64bits_digest(state.get()));
}

}  // namespace kmsdk::detail
