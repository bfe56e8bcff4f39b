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
    // Starts argv[0] (searched in PATH) with stdin from /dev/null and
    // stdout and stderr appended to `output`.
    ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& output);
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&&) = delete;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess();

    pid_t pid() const { return pid_; }
    // The wait status once it has exited, without blocking.
    std::optional<int> poll();
    // Waits up to `timeout` for it to exit by itself.
    std::optional<int> wait_for(std::chrono::milliseconds timeout);
    // SIGKILL and reap; returns at once if it has already exited.
    void kill();

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
};

// "exited with status 1", "killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

}  // namespace kmsdk::detail
