// SPDX-License-Identifier: GPL-2.0
#include "process.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <utility>

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

Child start(const std::vector<std::string>& argv, const std::filesystem::path& output,
            bool own_group)
{
    return Child{argv, output, Child::Options{.own_process_group = own_group}};
}

Child busy_loop(int cpu)
{
    return start({"taskset", "--cpu-list", std::to_string(cpu), "sh", "-c", "while :; do :; done"},
                 "/dev/null");
}

std::optional<int> wait_until(Child& child, Clock::time_point deadline)
{
    while (!interrupted()) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0)
            break;
        // Short slices, so that an interrupt is noticed within a second.
        if (auto status = child.wait_for(std::chrono::milliseconds(std::min<long long>(left, 1000))))
            return status;
    }
    return child.poll();
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
