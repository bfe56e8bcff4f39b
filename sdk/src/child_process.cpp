// SPDX-License-Identifier: GPL-2.0
#include "child_process.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <utility>
#include <unistd.h>

namespace kmsdk::detail {

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::filesystem::path& output, Options options)
    : own_process_group_{options.own_process_group}
{
    if (argv.empty())
        throw std::invalid_argument("ChildProcess needs a program");
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);

    // Everything the child needs is prepared before fork: after it, only
    // async-signal-safe calls.
    int out = output.empty() ? -1 : ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0 && !output.empty())
        throw std::runtime_error(fmt::format("cannot open {}: {}", output.string(),
                                             std::strerror(errno)));
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t parent = ::getpid();

    pid_ = ::fork();
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        // The parent may have died before prctl took effect.
        if (::getppid() != parent)
            ::_exit(127);
        if (own_process_group_)
            ::setpgid(0, 0);
        if (!options.inherit_stdin)
            ::dup2(null, STDIN_FILENO);
        if (out >= 0) {
            ::dup2(out, STDOUT_FILENO);
            ::dup2(out, STDERR_FILENO);
        }
        // dup2 clears close-on-exec on the copy; when the numbers are
        // equal it does nothing, so clear the flag itself.
        if (options.pass_fd == passed_fd_number)
            ::fcntl(passed_fd_number, F_SETFD, 0);
        else if (options.pass_fd >= 0)
            ::dup2(options.pass_fd, passed_fd_number);
        ::execvp(args[0], args.data());
        const char msg[] = "exec failed\n";
        [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
        ::_exit(127);
    }
    int fork_errno = errno;
    if (out >= 0)
        ::close(out);
    if (null >= 0)
        ::close(null);
    if (pid_ < 0)
        throw std::runtime_error(fmt::format("cannot start {}: fork failed: {}", argv[0],
                                             std::strerror(fork_errno)));
    if (own_process_group_)
        ::setpgid(pid_, pid_);  // as the child does: whichever runs first
    // glibc 2.36 declares pidfd_open() without extern "C": ask the kernel.
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd_ < 0) {
        int error = errno;
        kill();
        throw std::runtime_error(fmt::format("cannot watch {}: pidfd_open: {}", argv[0],
                                             std::strerror(error)));
    }
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_{std::exchange(other.pid_, -1)},
      pidfd_{std::exchange(other.pidfd_, -1)},
      own_process_group_{other.own_process_group_},
      status_{other.status_}
{
}

ChildProcess::~ChildProcess()
{
    kill();
    if (pidfd_ >= 0)
        ::close(pidfd_);
}

std::optional<int> ChildProcess::poll()
{
    if (status_ || pid_ < 0)
        return status_;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_)
        status_ = status;
    return status_;
}

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds timeout)
{
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!poll()) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            break;
        pollfd exited{pidfd_, POLLIN, 0};
        ::poll(&exited, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    }
    return status_;
}

void ChildProcess::signal(int signal)
{
    if (pid_ > 0 && !poll())
        ::kill(pid_, signal);
}

void ChildProcess::kill()
{
    if (own_process_group_ && pid_ > 0 && !status_)
        ::kill(-pid_, SIGKILL);  // the group, even when its leader is gone
    if (pid_ < 0 || poll())
        return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    status_ = status;
}

std::string describe_wait_status(int status)
{
    if (WIFEXITED(status))
        return fmt::format("exited with status {}", WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
    return fmt::format("ended with wait status {:#x}", status);
}

}  // namespace kmsdk::detail
