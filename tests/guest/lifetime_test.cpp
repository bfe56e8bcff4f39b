// SPDX-License-Identifier: GPL-2.0
// No QEMU outlives its harness: not when the Guest is destroyed, not when
// the thread that booted it ends, not when the process that owns it is
// killed with SIGKILL (no destructor runs then). And shutdown() powers the
// guest off: the kernel says so and QEMU exits.
//
// The Guest does not expose QEMU's pid: these tests find it in /proc, as
// the child of this process (or of a forked child) named qemu-system-x86.
#include "guest_suite.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <dirent.h>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

// What /proc/<pid>/stat says of a process.
struct ProcStat {
    pid_t pid = 0;
    std::string comm;
    char state = '?';
    pid_t ppid = 0;
    unsigned long long start_time = 0;  // clock ticks after boot: tells a reused pid apart
};

std::optional<ProcStat> proc_stat(pid_t pid)
{
    std::ifstream in{fmt::format("/proc/{}/stat", pid)};
    std::string text;
    if (!std::getline(in, text))
        return std::nullopt;
    // "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
    auto open = text.find('(');
    auto close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos)
        return std::nullopt;
    ProcStat stat;
    stat.pid = pid;
    stat.comm = text.substr(open + 1, close - open - 1);
    std::istringstream rest{text.substr(close + 2)};
    std::vector<std::string> fields;
    for (std::string field; rest >> field;)
        fields.push_back(field);
    // Fields from 3 on: state(3) ppid(4) ... starttime(22).
    if (fields.size() < 20)
        return std::nullopt;
    stat.state = fields[0].at(0);
    stat.ppid = static_cast<pid_t>(std::stoi(fields[1]));
    stat.start_time = std::stoull(fields[19]);
    return stat;
}

// The QEMU processes whose parent is `parent`.
std::vector<ProcStat> qemu_children(pid_t parent)
{
    std::vector<ProcStat> found;
    std::unique_ptr<DIR, int (*)(DIR*)> proc{::opendir("/proc"), ::closedir};
    REQUIRE(proc);
    while (auto* entry = ::readdir(proc.get())) {
        char* end = nullptr;
        auto pid = std::strtol(entry->d_name, &end, 10);
        if (*end != '\0' || pid <= 0)
            continue;
        auto stat = proc_stat(static_cast<pid_t>(pid));
        if (stat && stat->ppid == parent && stat->comm.starts_with("qemu-system"))
            found.push_back(*stat);
    }
    return found;
}

// The one QEMU `parent` runs.
ProcStat the_qemu_of(pid_t parent)
{
    auto qemus = qemu_children(parent);
    REQUIRE(qemus.size() == 1);
    return qemus[0];
}

// Running: there, the same process (same start time), and one of its
// threads not yet dead. A zombie is dead, only not yet reaped (by its
// parent, or by whatever adopted it); QEMU's main thread can be a zombie
// while its other threads are still on their way out.
bool running(const ProcStat& process)
{
    auto now = proc_stat(process.pid);
    if (!now || now->start_time != process.start_time)
        return false;
    std::unique_ptr<DIR, int (*)(DIR*)> tasks{
        ::opendir(fmt::format("/proc/{}/task", process.pid).c_str()), ::closedir};
    if (!tasks)
        return false;
    while (auto* entry = ::readdir(tasks.get())) {
        if (entry->d_name[0] == '.')
            continue;
        std::ifstream in{fmt::format("/proc/{}/task/{}/stat", process.pid, entry->d_name)};
        std::string text;
        if (!std::getline(in, text))
            continue;
        auto close = text.rfind(')');
        if (close == std::string::npos || close + 2 >= text.size())
            continue;
        char state = text[close + 2];
        if (state != 'Z' && state != 'X')
            return true;
    }
    return false;
}

// Waits up to `timeout` for the process to stop running.
bool ends_within(const ProcStat& process, std::chrono::milliseconds timeout)
{
    auto until = std::chrono::steady_clock::now() + timeout;
    while (running(process)) {
        if (std::chrono::steady_clock::now() >= until)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

// The guest's temporary folder, from QEMU's command line ("-chardev
// file,id=console,path=<dir>/console.log"). A killed owner cannot remove
// it: the test does.
std::filesystem::path guest_dir_of(const ProcStat& qemu)
{
    std::ifstream in{fmt::format("/proc/{}/cmdline", qemu.pid), std::ios::binary};
    std::ostringstream text;
    text << in.rdbuf();
    auto args = text.str();
    auto at = args.find(",path=");
    auto end = args.find("/console.log", at);
    if (at == std::string::npos || end == std::string::npos)
        return {};
    std::filesystem::path dir = args.substr(at + 6, end - at - 6);
    return dir.filename().string().starts_with("kmsdk-guest") ? dir : std::filesystem::path{};
}

GuestOptions options()
{
    return GuestOptions{}.kernel(test_kernel().release()).module(built_module("kms_hello"));
}

// A forked child that boots a guest, says so through a pipe, and waits to
// be killed. Only async-signal-safe calls are expected of a forked child of
// a threaded process; this process is not threaded here, and the child
// leaves by _exit, never through Catch2.
pid_t fork_guest_owner()
{
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // Not Catch2's handlers: this child dies of its signals plainly.
        for (int signal : {SIGTERM, SIGINT, SIGABRT, SIGSEGV, SIGILL, SIGFPE})
            ::signal(signal, SIG_DFL);
        ::close(ready[0]);
        char verdict = 'n';
        try {
            Guest guest{options()};
            if (guest.run("echo up").out == "up\n")
                verdict = 'y';
            [[maybe_unused]] auto written = ::write(ready[1], &verdict, 1);
            for (;;)
                ::pause();
        } catch (...) {
            [[maybe_unused]] auto written = ::write(ready[1], &verdict, 1);
        }
        ::_exit(1);
    }
    ::close(ready[1]);
    char verdict = 0;
    ssize_t got;
    while ((got = ::read(ready[0], &verdict, 1)) < 0 && errno == EINTR) {
    }
    ::close(ready[0]);
    if (got != 1 || verdict != 'y') {
        ::kill(child, SIGKILL);
        ::waitpid(child, nullptr, 0);
        FAIL("the forked child could not boot a guest");
    }
    return child;
}

}  // namespace

TEST_CASE("QEMU dies with the process that owns the guest, even when it is killed with SIGKILL",
          "[lifetime]")
{
    auto child = fork_guest_owner();
    auto qemu = the_qemu_of(child);
    auto dir = guest_dir_of(qemu);
    CHECK(running(qemu));

    // SIGKILL: no destructor, no signal handler, no atexit runs in the owner.
    REQUIRE(::kill(child, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);

    CHECK(ends_within(qemu, std::chrono::seconds(2)));
    if (!dir.empty())
        std::filesystem::remove_all(dir);
}

TEST_CASE("QEMU dies with the process that owns the guest when it is stopped by SIGTERM",
          "[lifetime]")
{
    auto child = fork_guest_owner();
    auto qemu = the_qemu_of(child);
    auto dir = guest_dir_of(qemu);
    REQUIRE(::kill(child, SIGTERM) == 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    CHECK(ends_within(qemu, std::chrono::seconds(2)));
    if (!dir.empty())
        std::filesystem::remove_all(dir);
}

TEST_CASE("a Guest destroyed normally leaves no QEMU", "[lifetime]")
{
    auto guest = std::make_unique<Guest>(options());
    REQUIRE(guest->run("echo up").out == "up\n");
    auto qemu = the_qemu_of(::getpid());
    CHECK(running(qemu));
    guest.reset();
    // The destructor kills and reaps QEMU before it returns.
    CHECK_FALSE(running(qemu));
    CHECK(qemu_children(::getpid()).empty());
}

TEST_CASE("QEMU dies when the thread that booted the guest ends, though the Guest lives on",
          "[lifetime]")
{
    std::unique_ptr<Guest> guest;
    std::thread booter{[&] {
        guest = std::make_unique<Guest>(options());
        guest->run("echo up");
    }};
    booter.join();
    REQUIRE(guest);
    // QEMU was started by the booter thread: PR_SET_PDEATHSIG sends it
    // SIGKILL when that thread ends. It is this process's child: look at
    // its exit without reaping it (WNOWAIT), which is the Guest's to do.
    auto qemu = the_qemu_of(::getpid());
    siginfo_t info{};
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (::waitid(P_PID, static_cast<id_t>(qemu.pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == 0 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(info.si_pid == qemu.pid);
    CHECK(info.si_code == CLD_KILLED);
    CHECK(info.si_status == SIGKILL);

    // The Guest notices and boots again on its next use.
    CHECK(guest->run("echo again").out == "again\n");
    guest.reset();
    CHECK(qemu_children(::getpid()).empty());
}

TEST_CASE("shutdown() powers the guest off and QEMU exits", "[lifetime]")
{
    Guest guest{options()};
    REQUIRE(guest.insmod("kms_hello").ok());
    auto qemu = the_qemu_of(::getpid());
    guest.shutdown();
    CHECK_FALSE(running(qemu));
    CHECK(qemu_children(::getpid()).empty());
    // The kernel's last words (KERN_EMERG, so on the console under quiet):
    // a clean power-off, not a kill.
    CHECK_THAT(guest.console_tail(5), Contains("reboot: Power down"));

    // A guest that was shut down boots again for its next use.
    CHECK(guest.run("echo again").out == "again\n");
    guest.shutdown();
    CHECK(qemu_children(::getpid()).empty());
}
