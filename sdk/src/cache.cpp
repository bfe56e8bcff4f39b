// SPDX-License-Identifier: GPL-2.0
#include "kmsdk/cache.hpp"

#include "unique_fd.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kmsdk {
namespace fs = std::filesystem;
namespace {

std::string environment(const char* name)
{
    const char* value = std::getenv(name);
    return value ? value : "";
}

[[noreturn]] void throw_io_error(std::string_view what, const fs::path& path, int error)
{
    throw std::runtime_error(fmt::format("cannot {} {}: {}; check the path and its permissions",
                                         what, path.string(), std::strerror(error)));
}

// A temporary file that is removed unless it was renamed into place.
class PendingFile {
public:
    explicit PendingFile(const fs::path& final_path)
    {
        std::string pattern =
            (final_path.parent_path() / ("." + final_path.filename().string() + ".XXXXXX")).string();
        fd_ = ::mkostemp(pattern.data(), O_CLOEXEC);
        if (fd_ < 0)
            throw_io_error("create a temporary file for", final_path, errno);
        path_ = pattern;
    }
    PendingFile(const PendingFile&) = delete;
    PendingFile& operator=(const PendingFile&) = delete;
    ~PendingFile()
    {
        if (fd_ >= 0)
            ::close(fd_);
        if (!path_.empty())
            ::unlink(path_.c_str());
    }

    int fd() const { return fd_; }

    // Renames it over `final_path`, or with `keep_existing` links it there
    // unless a file is there already (which then stays as it is).
    void commit(const fs::path& final_path, bool keep_existing = false)
    {
        // close() reports delayed write errors (NFS, full disk): check it.
        int fd = std::exchange(fd_, -1);
        if (::close(fd) != 0)
            throw_io_error("write", path_, errno);
        if (keep_existing) {
            if (::link(path_.c_str(), final_path.c_str()) != 0 && errno != EEXIST)
                throw_io_error("link a temporary file to", final_path, errno);
            return;  // the destructor removes the temporary name
        }
        if (::rename(path_.c_str(), final_path.c_str()) != 0)
            throw_io_error("rename a temporary file onto", final_path, errno);
        path_.clear();
    }

private:
    int fd_ = -1;
    fs::path path_;
};

}  // namespace

fs::path cache_dir()
{
    if (auto dir = environment("KMSDK_CACHE"); !dir.empty())
        return dir;
    if (auto dir = environment("XDG_CACHE_HOME"); !dir.empty())
        return fs::path{dir} / "kmsdk";
    if (auto home = environment("HOME"); !home.empty())
        return fs::path{home} / ".cache" / "kmsdk";
    throw std::runtime_error(
        "cannot find the kmsdk cache: HOME is not set; set KMSDK_CACHE to a folder for it");
}

std::string read_file(const fs::path& path)
{
    detail::UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (!fd)
        throw_io_error("read", path, errno);
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0)
        throw_io_error("read", path, errno);

    std::string bytes;
    bytes.reserve(static_cast<std::size_t>(info.st_size));
    char buffer[1 << 16];
    for (;;) {
        ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            throw_io_error("read", path, errno);
        if (got == 0)
            return bytes;
        bytes.append(buffer, static_cast<std::size_t>(got));
    }
}

namespace {

void write_file(const fs::path& path, std::string_view bytes, fs::perms permissions,
                bool keep_existing)
{
    std::error_code error;
    fs::create_directories(path.parent_path(), error);
    if (error)
        throw std::runtime_error(fmt::format(
            "cannot create the folder {}: {}; kmsdk keeps its cache there, so make it writable, "
            "or point KMSDK_CACHE at a folder of your own",
            path.parent_path().string(), error.message()));
    PendingFile pending{path};
    while (!bytes.empty()) {
        ssize_t written = ::write(pending.fd(), bytes.data(), bytes.size());
        if (written < 0 && errno == EINTR)
            continue;
        if (written < 0)
            throw_io_error("write", path, errno);
        bytes.remove_prefix(static_cast<std::size_t>(written));
    }
    // mkstemp makes the file 0600; the cached file is meant to be shared.
    if (::fchmod(pending.fd(), static_cast<mode_t>(permissions)) != 0)
        throw_io_error("set the permissions of", path, errno);
    pending.commit(path, keep_existing);
}

}  // namespace

void write_file_atomically(const fs::path& path, std::string_view bytes, fs::perms permissions)
{
    write_file(path, bytes, permissions, false);
}

void write_file_once(const fs::path& path, std::string_view bytes)
{
    write_file(path, bytes, fs::perms{0644}, true);
}

void ContentHash::mix(std::string_view bytes)
{
    for (unsigned char byte : bytes) {
        state_ ^= byte;
        state_ *= 0x100000001b3ULL;
    }
}

ContentHash& ContentHash::add(std::uint64_t number)
{
    char little_endian[8];
    for (int i = 0; i < 8; ++i)
        little_endian[i] = static_cast<char>(number >> (8 * i));
    mix({little_endian, sizeof little_endian});
    return *this;
}

ContentHash& ContentHash::add(std::string_view bytes)
{
    add(static_cast<std::uint64_t>(bytes.size()));
    mix(bytes);
    return *this;
}

std::string ContentHash::hex() const
{
    return fmt::format("{:016x}", state_);
}

}  // namespace kmsdk
