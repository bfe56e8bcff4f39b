// SPDX-License-Identifier: GPL-2.0
#include "system.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

namespace kmsdk::agent {
namespace {

std::uint64_t clock_ns(clockid_t clock)
{
    timespec now{};
    clock_gettime(clock, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(now.tv_nsec);
}

}  // namespace

void throw_errno(const std::string& what)
{
    int error = errno;
    throw RequestError(error, what + ": " + errno_text(error));
}

std::string errno_text(int error)
{
    return std::strerror(error);
}

std::uint64_t monotonic_ns()
{
    return clock_ns(CLOCK_MONOTONIC);
}

std::uint64_t boottime_ns()
{
    return clock_ns(CLOCK_BOOTTIME);
}

const std::string& kernel_release()
{
    static const std::string release = [] {
        utsname names{};
        uname(&names);
        return std::string{names.release};
    }();
    return release;
}

std::string staged_modules_dir()
{
    return "/lib/modules/" + kernel_release() + "/extra";
}

std::optional<std::string> read_whole_file(const std::string& path, std::size_t limit)
{
    UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (!fd)
        return std::nullopt;
    std::string content;
    struct stat info{};
    if (fstat(fd.get(), &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0)
        content.reserve(std::min<std::size_t>(static_cast<std::size_t>(info.st_size), limit));
    char chunk[64 * 1024];
    for (;;) {
        ssize_t got = ::read(fd.get(), chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return std::nullopt;
        if (got == 0)
            return content;
        if (content.size() + static_cast<std::size_t>(got) > limit) {
            errno = EFBIG;
            return std::nullopt;
        }
        content.append(chunk, static_cast<std::size_t>(got));
    }
}

std::string read_sysfs_value(const std::string& path)
{
    auto content = read_whole_file(path, 1 << 20);
    if (!content)
        return {};
    while (!content->empty() && (content->back() == '\n' || content->back() == ' '))
        content->pop_back();
    return *content;
}

bool make_directories(const std::string& path, unsigned mode)
{
    // Walk each prefix that ends before a '/', then the whole path.
    for (std::size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
        std::string prefix = path.substr(0, slash);
        if (!prefix.empty() && ::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST)
            return false;
        if (slash == std::string::npos)
            break;
    }
    struct stat info{};
    if (::stat(path.c_str(), &info) != 0)
        return false;
    if (!S_ISDIR(info.st_mode)) {
        errno = ENOTDIR;
        return false;
    }
    return true;
}

bool path_exists(const std::string& path)
{
    struct stat info{};
    return ::lstat(path.c_str(), &info) == 0;
}

std::vector<std::string> list_directory(const std::string& path)
{
    std::vector<std::string> names;
    std::unique_ptr<DIR, int (*)(DIR*)> dir{::opendir(path.c_str()), ::closedir};
    if (!dir)
        return names;
    while (const dirent* entry = ::readdir(dir.get())) {
        std::string_view name{entry->d_name};
        if (name != "." && name != "..")
            names.emplace_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

bool write_all(int fd, std::string_view data)
{
    while (!data.empty()) {
        ssize_t wrote = ::write(fd, data.data(), data.size());
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote < 0)
            return false;
        data.remove_prefix(static_cast<std::size_t>(wrote));
    }
    return true;
}

std::vector<std::string> split_lines(std::string_view text)
{
    std::vector<std::string> lines;
    while (!text.empty()) {
        auto newline = text.find('\n');
        lines.emplace_back(text.substr(0, newline));
        text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    }
    return lines;
}

std::string trimmed(std::string_view text)
{
    constexpr std::string_view blanks = " \t\r";
    auto first = text.find_first_not_of(blanks);
    if (first == std::string_view::npos)
        return {};
    return std::string{text.substr(first, text.find_last_not_of(blanks) - first + 1)};
}

std::vector<std::string> split_words(std::string_view text)
{
    constexpr std::string_view blanks = " \t\r\n";
    std::vector<std::string> words;
    for (auto start = text.find_first_not_of(blanks); start != std::string_view::npos;
         start = text.find_first_not_of(blanks, start)) {
        auto end = text.find_first_of(blanks, start);
        words.emplace_back(text.substr(start, end - start));
        start = end;
    }
    return words;
}

void set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

Pipe make_pipe()
{
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) != 0)
        throw_errno("cannot make a pipe");
    return Pipe{UniqueFd{ends[0]}, UniqueFd{ends[1]}};
}

int shell_status(int wait_status)
{
    if (WIFEXITED(wait_status))
        return WEXITSTATUS(wait_status);
    if (WIFSIGNALED(wait_status))
        return 128 + WTERMSIG(wait_status);
    return 255;
}

}  // namespace kmsdk::agent
