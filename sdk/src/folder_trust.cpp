// SPDX-License-Identifier: GPL-2.0
#include "folder_trust.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace kmsdk::detail {
namespace {

std::optional<std::string> distrust(const struct stat& st)
{
    auto mode = st.st_mode & 07777;
    if (st.st_uid != ::geteuid())
        return fmt::format("owned by uid {}, not by you (uid {})", st.st_uid, ::geteuid());
    if ((mode & S_IWOTH) != 0)
        return fmt::format("writable by others (mode {:04o})", mode);
    if ((mode & S_IWGRP) != 0)
        return fmt::format("writable by its group (mode {:04o})", mode);
    return std::nullopt;
}

}  // namespace

std::optional<std::string> distrust_folder(const std::filesystem::path& dir)
{
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0)
        if (auto why = distrust(st))
            return fmt::format("{} is {}", dir.string(), *why);
    // Whoever may write the parent may put another folder in this one's
    // place, unless the sticky bit (as on /tmp) stops them.
    auto parent = dir.parent_path();
    if (parent != dir && ::stat(parent.c_str(), &st) == 0 && (st.st_mode & S_ISVTX) == 0)
        if (auto why = distrust(st))
            return fmt::format("{} is {}", parent.string(), *why);
    return std::nullopt;
}

std::optional<std::string> distrust_file(int fd)
{
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        return fmt::format("cannot be examined: {}", std::strerror(errno));
    return distrust(st);
}

// Not create_directories: its 0777 less a umask of 002 leaves the folder
// writable by its group.
void create_private_folder(const std::filesystem::path& dir)
{
    if (dir.empty() || std::filesystem::is_directory(dir))
        return;
    create_private_folder(dir.parent_path());
    if (::mkdir(dir.c_str(), 0755) != 0) {
        if (errno == EEXIST)
            return;
        throw std::runtime_error(fmt::format("cannot create {}: {}", dir.string(), std::strerror(errno)));
    }
}

}  // namespace kmsdk::detail
