// SPDX-License-Identifier: GPL-2.0
//
// Small wrappers over the system calls that several requests share, and the
// error type a request throws to become an Error reply.
#pragma once

#include "fd.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kmsdk::agent {

// A request that cannot be served: the dispatcher turns it into an Error
// frame (errno, message) instead of letting it reach PID 1's top level.
class RequestError : public std::runtime_error {
public:
    RequestError(int error, const std::string& message)
        : std::runtime_error{message}, error_{error}
    {
    }
    int error() const noexcept { return error_; }

private:
    int error_;
};

// "WHAT: strerror(errno)" as a RequestError carrying errno.
[[noreturn]] void throw_errno(const std::string& what);

std::uint64_t monotonic_ns();
// Time since boot, suspended time included: the guest's "uptime".
std::uint64_t boottime_ns();

// uname -r, read once.
const std::string& kernel_release();
// /lib/modules/<release>/extra: where the host stages modules, and the
// default working directory of a command.
std::string staged_modules_dir();

// The whole content of a file, or nullopt with errno set. Works for /proc
// and /sys files, whose st_size is not their length.
std::optional<std::string> read_whole_file(const std::string& path,
                                           std::size_t limit = SIZE_MAX);
// As read_whole_file, without the trailing newline; "" when unreadable.
std::string read_sysfs_value(const std::string& path);

// mkdir -p: false with errno set when a component cannot be made.
bool make_directories(const std::string& path, unsigned mode = 0755);

bool path_exists(const std::string& path);

// The names in a directory, sorted, without "." and "..". Empty if it
// cannot be read.
std::vector<std::string> list_directory(const std::string& path);

// Writes all of data, retrying on EINTR and short writes. false with errno.
bool write_all(int fd, std::string_view data);

// The lines of a text, without their '\n'; a last line without one counts.
std::vector<std::string> split_lines(std::string_view text);
// The text without leading and trailing blanks (space, tab, CR).
std::string trimmed(std::string_view text);
// Whitespace-separated words, as a shell or a .conf reader splits a line.
std::vector<std::string> split_words(std::string_view text);

void set_nonblocking(int fd);
Pipe make_pipe();

std::string errno_text(int error);

// Exit code, or 128 + signal number, as a shell reports it.
int shell_status(int wait_status);

}  // namespace kmsdk::agent
