// SPDX-License-Identifier: GPL-2.0
#include "host_command.hpp"

#include "deadline.hpp"
#include "unique_fd.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace kmsdk::detail {
namespace {

struct SpawnActions {
    SpawnActions() { posix_spawn_file_actions_init(&actions); }
    SpawnActions(const SpawnActions&) = delete;
    SpawnActions& operator=(const SpawnActions&) = delete;
    ~SpawnActions() { posix_spawn_file_actions_destroy(&actions); }
    posix_spawn_file_actions_t actions;
};

int reap(pid_t pid)
{
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

}  // namespace

std::string output_of(const std::vector<std::string>& argv, std::chrono::milliseconds timeout)
{
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe2");
    UniqueFd read_end{pipe_fds[0]};
    UniqueFd write_end{pipe_fds[1]};

    SpawnActions spawn;
    posix_spawn_file_actions_addopen(&spawn.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&spawn.actions, write_end.get(), STDOUT_FILENO);
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);

    pid_t pid = -1;
    if (int err = posix_spawnp(&pid, args[0], &spawn.actions, nullptr, args.data(), environ);
        err != 0)
        throw std::runtime_error(
            fmt::format("cannot run {}: {}; check that it is installed and executable", argv[0],
                        std::strerror(err)));
    write_end.reset();

    // Read until the child closes its end, or the deadline passes.
    Deadline deadline{timeout};
    std::string output;
    char buffer[4096];
    for (;;) {
        pollfd readable{read_end.get(), POLLIN, 0};
        int ready = ::poll(&readable, 1, deadline.poll_ms());
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0) {
            if (!deadline.expired())
                continue;
            ::kill(pid, SIGKILL);
            reap(pid);
            throw std::runtime_error(fmt::format(
                "{} {} did not finish within {} ms; check that it works when run by hand",
                argv[0], argv.size() > 1 ? argv[1] : "", timeout.count()));
        }
        ssize_t got = ::read(read_end.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        output.append(buffer, static_cast<std::size_t>(got));
    }
    int status = reap(pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error(fmt::format("{} {} failed (wait status {}); check that it works",
                                             argv[0], argv.size() > 1 ? argv[1] : "", status));
    return output;
}

std::filesystem::path find_in_path(const std::string& name)
{
    const char* path = std::getenv("PATH");
    std::istringstream dirs{path ? path : "/usr/bin:/bin"};
    for (std::string dir; std::getline(dirs, dir, ':');) {
        auto candidate = std::filesystem::path{dir} / name;
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return {};
}

}  // namespace kmsdk::detail
