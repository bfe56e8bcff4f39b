// SPDX-License-Identifier: GPL-2.0
#include "process.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace kmsdk::bench {
namespace {

volatile std::sig_atomic_t stop_requested = 0;

extern "C" void on_interrupt(int)
{
    stop_requested = 1;
}

// In the child, right after fork: die with the parent.
void die_with_parent(pid_t parent)
{
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The parent may have died before prctl took effect.
    if (::getppid() != parent)
        ::_exit(127);
}

// "pid ppid comm" of every process, from /proc/<pid>/stat.
struct ProcessEntry {
    pid_t ppid;
    pid_t pgrp;
    std::string comm;
    char state;  // 'Z': dead, waiting to be reaped
};

std::map<pid_t, ProcessEntry> process_table()
{
    std::map<pid_t, ProcessEntry> table;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator{"/proc", error}) {
        auto name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        std::ifstream in{entry.path() / "stat"};
        std::string stat;
        if (!std::getline(in, stat))
            continue;
        // comm is in parentheses and may hold spaces: the state follows the last ')'.
        auto open = stat.find('(');
        auto close = stat.rfind(')');
        if (open == std::string::npos || close == std::string::npos || close < open)
            continue;
        std::istringstream rest{stat.substr(close + 1)};
        std::string state;
        pid_t ppid = 0, pgrp = 0;
        if (!(rest >> state >> ppid >> pgrp))
            continue;
        table[std::stoi(name)] = {ppid, pgrp, stat.substr(open + 1, close - open - 1),
                                  state.empty() ? '?' : state[0]};
    }
    return table;
}

std::string command_line(pid_t pid)
{
    std::ifstream in{fmt::format("/proc/{}/cmdline", pid), std::ios::binary};
    std::string text{std::istreambuf_iterator<char>{in}, {}};
    for (auto& c : text)
        if (c == '\0')
            c = ' ';
    return text;
}

}  // namespace

double ms_since(Clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

Child::Child(pid_t pid, bool own_group) : pid_{pid}, own_group_{own_group}
{
    // glibc 2.36 declares pidfd_open() without extern "C": call the kernel directly.
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd_ < 0) {
        int error = errno;
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        throw std::runtime_error(fmt::format("pidfd_open: {}", std::strerror(error)));
    }
}

Child Child::exec(const std::vector<std::string>& argv, const std::filesystem::path& output,
                  bool own_group)
{
    if (argv.empty())
        throw std::invalid_argument("Child::exec needs a program");
    std::vector<char*> args;
    for (const auto& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);

    // Prepared before fork: after it, only async-signal-safe calls.
    int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
        throw std::runtime_error(fmt::format("cannot open {}: {}", output.string(),
                                             std::strerror(errno)));
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
        die_with_parent(parent);
        if (own_group)
            ::setpgid(0, 0);
        ::dup2(null, STDIN_FILENO);
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
        ::execvp(args[0], args.data());
        const char msg[] = "exec failed\n";
        [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
        ::_exit(127);
    }
    int fork_error = errno;
    ::close(out);
    if (null >= 0)
        ::close(null);
    if (pid < 0)
        throw std::runtime_error(fmt::format("cannot start {}: fork: {}", argv[0],
                                             std::strerror(fork_error)));
    if (own_group)
        ::setpgid(pid, pid);  // as the child does: whoever runs first
    return Child{pid, own_group};
}

Child Child::busy_loop(int cpu)
{
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
        die_with_parent(parent);
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (::sched_setaffinity(0, sizeof set, &set) != 0)
            ::_exit(126);
        volatile unsigned long spins = 0;
        for (;;)
            spins = spins + 1;
    }
    if (pid < 0)
        throw std::runtime_error(fmt::format("cannot start a busy loop: fork: {}",
                                             std::strerror(errno)));
    return Child{pid, false};
}

Child::Child(Child&& other) noexcept
    : pid_{std::exchange(other.pid_, -1)},
      own_group_{other.own_group_},
      pidfd_{std::exchange(other.pidfd_, -1)},
      status_{other.status_}
{
}

Child::~Child()
{
    kill();
    if (pidfd_ >= 0)
        ::close(pidfd_);
}

std::optional<int> Child::poll()
{
    if (status_ || pid_ < 0)
        return status_;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_)
        status_ = status;
    return status_;
}

std::optional<int> Child::wait_until(Clock::time_point deadline)
{
    while (!poll() && !interrupted()) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0)
            break;
        pollfd fd{pidfd_, POLLIN, 0};
        ::poll(&fd, 1, static_cast<int>(std::min<long long>(left, 1000)));
    }
    return status_;
}

void Child::kill()
{
    if (own_group_ && pid_ > 0 && !status_)
        ::kill(-pid_, SIGKILL);  // the group, even when its leader is gone
    if (pid_ < 0 || poll())
        return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    status_ = status;
}

void become_subreaper(bool on)
{
    if (::prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0) != 0)
        throw std::runtime_error(fmt::format("PR_SET_CHILD_SUBREAPER: {}", std::strerror(errno)));
}

std::vector<std::string> our_processes(const std::string& prefix)
{
    auto table = process_table();
    pid_t self = ::getpid();
    std::vector<std::string> found;
    for (const auto& [pid, entry] : table) {
        if (pid == self || entry.state == 'Z' || !entry.comm.starts_with(prefix))
            continue;
        // Walk up: is the bench an ancestor?
        for (pid_t up = entry.ppid, steps = 0; up > 1 && steps < 64; ++steps) {
            if (up == self) {
                found.push_back(fmt::format("{} {}", pid, command_line(pid)));
                break;
            }
            auto parent = table.find(up);
            if (parent == table.end())
                break;
            up = parent->second.ppid;
        }
    }
    return found;
}

std::vector<std::string> processes_in_group(pid_t group)
{
    std::vector<std::string> found;
    for (const auto& [pid, entry] : process_table())
        if (entry.pgrp == group && entry.state != 'Z')
            found.push_back(fmt::format("{} {}", pid, command_line(pid)));
    return found;
}

std::size_t kill_leftover_children()
{
    pid_t self = ::getpid();
    std::vector<pid_t> alive;
    for (const auto& [pid, entry] : process_table())
        if (entry.ppid == self && entry.state != 'Z') {
            ::kill(pid, SIGKILL);
            alive.push_back(pid);
        }
    for (pid_t pid : alive)
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
    // Zombies that orphaned grandchildren left with us.
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    return alive.size();
}

bool interrupted()
{
    return stop_requested != 0;
}

void install_interrupt_handlers()
{
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
}

void check_interrupted()
{
    if (interrupted())
        throw std::runtime_error("interrupted");
}

}  // namespace kmsdk::bench
