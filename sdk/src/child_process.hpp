// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace kmsdk::detail {

// A child process that cannot outlive us: the kernel sends it SIGKILL when
// the thread that started it dies, however that happens (even SIGKILL),
// and dropping the object kills and reaps it.
class ChildProcess {
public:
    struct Options {
        // Lead a process group of its own; kill() then kills the whole
        // group (a test runner and everything it started).
        bool own_process_group = false;
        // A descriptor the child gets as its fd 3 (say, a file QEMU reads
        // a saved machine from); -1 for none.
        int pass_fd = -1;
        // Read our stdin instead of /dev/null: a program the user talks to
        // (gdb at its prompt).
        bool inherit_stdin = false;
    };

    // The descriptor number Options::pass_fd has in the child.
    static constexpr int passed_fd_number = 3;

    // Starts argv[0] (searched in PATH) with stdin from /dev/null and
    // stdout and stderr written to `output` (truncated first), or left
    // ours when `output` is empty.
    ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& output,
                 Options options);
    ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& output)
        : ChildProcess(argv, output, Options{})
    {
    }
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&&) = delete;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess();

    pid_t pid() const { return pid_; }
    // Readable once the child has exited: for poll() alongside other fds.
    int pidfd() const { return pidfd_; }
    // The wait status once it has exited, without blocking.
    std::optional<int> poll();
    // Waits up to `timeout` for it to exit by itself.
    std::optional<int> wait_for(std::chrono::milliseconds timeout);
    // Sends it this signal, unless it has been reaped.
    void signal(int signal);
    // SIGKILL (its group too, if it leads one) and reap; returns at once if
    // it has already been reaped.
    void kill();

private:
    pid_t pid_ = -1;
    int pidfd_ = -1;
    bool own_process_group_ = false;
    std::optional<int> status_;
};

// "exited with status 1", "killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

}  // namespace kmsdk::detail
