// SPDX-License-Identifier: GPL-2.0
#include "child_process.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <utility>
#include <unistd.h>

namespace kmsdk::detail {

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::filesystem::path& output)
{
    if (argv.empty())
        throw std::invalid_argument("ChildProcess needs a program");
    std::vector<char*> args;
    for (const auto& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);

    // Everything the child needs is prepared before fork: after it, only
    // async-signal-safe calls.
    int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out < 0)
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
        ::dup2(null, STDIN_FILENO);
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
        ::execvp(args[0], args.data());
        const char msg[] = "exec failed\n";
        [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
        ::_exit(127);
    }
    int fork_errno = errno;
    ::close(out);
    if (null >= 0)
        ::close(null);
    if (pid_ < 0)
        throw std::runtime_error(fmt::format("cannot start {}: fork failed: {}", argv[0],
                                             std::strerror(fork_errno)));
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_{std::exchange(other.pid_, -1)}, status_{other.status_}
{
}

ChildProcess::~ChildProcess()
{
    kill();
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
    while (!poll() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return status_;
}

void ChildProcess::kill()
{
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
