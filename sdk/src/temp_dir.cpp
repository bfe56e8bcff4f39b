// SPDX-License-Identifier: GPL-2.0
#include "temp_dir.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kmsdk::detail {

TempDir::TempDir(std::string_view prefix)
{
    // Unix socket paths are limited to 108 bytes: keep these short.
    auto pattern = (std::filesystem::temp_directory_path() /
                    fmt::format("{}-{}-XXXXXX", prefix, ::getpid())).string();
    if (!mkdtemp(pattern.data()))
        throw std::runtime_error(fmt::format("cannot create a temporary folder {}: {}; check TMPDIR",
                                             pattern, std::strerror(errno)));
    path_ = pattern;
}

TempDir::TempDir(TempDir&& other) noexcept : path_{std::move(other.path_)}
{
    other.path_.clear();
}

TempDir::~TempDir()
{
    if (path_.empty())
        return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

namespace {

// A zombie has exited: its folder is as abandoned as a dead owner's (its
// parent just has not reaped it yet).
bool process_alive(pid_t pid)
{
    if (::kill(pid, 0) != 0 && errno == ESRCH)
        return false;
    std::ifstream stat_file{fmt::format("/proc/{}/stat", pid)};
    std::string stat{std::istreambuf_iterator<char>{stat_file}, {}};
    // "pid (comm) S ...": comm may hold anything, so the state follows the
    // last ')'.
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size())
        return true;  // unreadable (another pid namespace?): assume alive
    char state = stat[close + 2];
    return state != 'Z' && state != 'X';
}

}  // namespace

void remove_abandoned(std::string_view prefix)
{
    std::error_code error;
    auto start = fmt::format("{}-", prefix);
    for (const auto& entry : std::filesystem::directory_iterator{std::filesystem::temp_directory_path(), error}) {
        auto name = entry.path().filename().string();
        if (!name.starts_with(start))
            continue;
        char* end = nullptr;
        auto pid = std::strtol(name.c_str() + start.size(), &end, 10);
        struct stat st {};
        if (pid <= 0 || *end != '-' || ::lstat(entry.path().c_str(), &st) != 0 ||
            !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid())
            continue;
        if (!process_alive(static_cast<pid_t>(pid)))
            std::filesystem::remove_all(entry.path(), error);
    }
}

}  // namespace kmsdk::detail
