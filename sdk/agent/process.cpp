// SPDX-License-Identifier: GPL-2.0
#include "process.hpp"

#include "system.hpp"
#include "fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <utility>

extern char** environ;

namespace kmsdk::agent {
namespace {

constexpr std::size_t output_cap = 64u << 20;
// How often a command whose pipes stay open is checked for having exited.
constexpr int exit_check_interval_ms = 50;
// How long a child killed with SIGKILL is waited for before it is left to
// reap_orphans.
constexpr int killed_child_wait_ms = 1000;
// Where a name is looked up when the agent has no PATH, as execvp's
// fallback but with the sbin folders, where the module tools are.
constexpr std::string_view default_search_path = "/usr/sbin:/usr/bin:/sbin:/bin";

// One of the child's output streams, read into memory up to output_cap.
struct Capture {
    UniqueFd fd;
    std::string text;
    std::size_t dropped = 0;

    // Reads until the pipe is empty; closes it at end of file.
    void read_available()
    {
        char chunk[64 * 1024];
        while (fd) {
            ssize_t got = ::read(fd.get(), chunk, sizeof chunk);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0 && errno == EAGAIN)
                return;
            if (got <= 0) {
                fd.reset();
                return;
            }
            auto size = static_cast<std::size_t>(got);
            auto kept = std::min(size, output_cap - text.size());
            text.append(chunk, kept);
            dropped += size - kept;
        }
    }
};

std::string truncation_note(const char* stream, std::size_t dropped)
{
    return "\nkmsdk-agent: " + std::string{stream} + " truncated at 64 MiB; " +
           std::to_string(dropped) + " bytes dropped\n";
}

// The files execvp would try for `name`: itself if it holds a '/', else
// the name in each folder of PATH (an empty entry is the working folder).
std::vector<std::string> exec_candidates(const std::string& name)
{
    if (name.find('/') != std::string::npos)
        return {name};
    if (name.empty())
        return {};
    const char* path = ::getenv("PATH");
    std::string_view folders = path != nullptr && *path != '\0' ? path : default_search_path;
    std::vector<std::string> candidates;
    for (;;) {
        auto colon = folders.find(':');
        std::string_view folder = folders.substr(0, colon);
        candidates.push_back((folder.empty() ? std::string{"."} : std::string{folder}) + "/" +
                             name);
        if (colon == std::string_view::npos)
            return candidates;
        folders.remove_prefix(colon + 1);
    }
}

}  // namespace

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_{std::exchange(other.pid_, -1)}, status_{other.status_}
{
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept
{
    if (this != &other) {
        kill_and_reap();
        pid_ = std::exchange(other.pid_, -1);
        status_ = other.status_;
    }
    return *this;
}

ChildProcess::~ChildProcess()
{
    kill_and_reap();
}

void ChildProcess::kill_and_reap() noexcept
{
    if (pid_ <= 0 || status_)
        return;
    // The child normally leads its own session and process group: take the
    // whole group, then the child itself in case it had not got that far.
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    for (int waited_ms = 0; waited_ms < killed_child_wait_ms; waited_ms += 10) {
        int status = 0;
        pid_t got = ::waitpid(pid_, &status, WNOHANG);
        if (got == pid_ || (got < 0 && errno == ECHILD)) {
            status_ = status;
            return;
        }
        ::usleep(10'000);
    }
}

std::optional<int> ChildProcess::try_wait()
{
    if (!status_ && pid_ > 0) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_)
            status_ = status;
    }
    return status_;
}

int ChildProcess::wait()
{
    while (!status_ && pid_ > 0) {
        int status = 0;
        pid_t got = ::waitpid(pid_, &status, 0);
        if (got == pid_)
            status_ = status;
        else if (got < 0 && errno != EINTR)
            throw_errno("cannot wait for process " + std::to_string(pid_));
    }
    return status_.value_or(0);
}

ChildProcess spawn(const std::vector<std::string>& argv,
                   const std::function<void()>& prepare_child)
{
    // Built before fork: the child only execs.
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    const std::vector<std::string> candidates = exec_candidates(argv.at(0));

    pid_t pid = ::fork();
    if (pid < 0)
        throw_errno("cannot fork to run " + argv.at(0));
    if (pid == 0) {
        // The agent ignores SIGPIPE and PID 1 is shielded from most
        // signals; a command must see the default behaviour.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        signal(SIGPIPE, SIG_DFL);
        try {
            prepare_child();
        } catch (...) {
            _exit(126);
        }
        // As execvp: a file found but not runnable is reported over one
        // not found, and only those two keep the search going.
        int error = ENOENT;
        for (const auto& candidate : candidates) {
            ::execve(candidate.c_str(), args.data(), environ);
            if (errno == EACCES)
                error = EACCES;
            else if (errno != ENOENT && errno != ENOTDIR) {
                error = errno;
                break;
            }
        }
        std::string message = "kmsdk-agent: cannot run " + argv[0] + ": " + errno_text(error) + "\n";
        [[maybe_unused]] ssize_t ignored = ::write(STDERR_FILENO, message.data(), message.size());
        _exit(127);
    }
    return ChildProcess{pid};
}

std::string resolve_working_directory(const std::string& requested)
{
    if (!requested.empty())
        return requested;
    std::string staged = staged_modules_dir();
    make_directories(staged);  // if this fails the command runs in / instead
    return staged;
}

void enter_directory_or_root(const std::string& directory) noexcept
{
    if (::chdir(directory.c_str()) != 0) {
        [[maybe_unused]] int ignored = ::chdir("/");
    }
}

UniqueFd open_null_input()
{
    UniqueFd null{::open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY)};
    if (!null)
        throw_errno("cannot open /dev/null");
    return null;
}

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& cwd)
{
    UniqueFd in = open_null_input();
    Pipe out = make_pipe();
    Pipe err = make_pipe();

    const std::uint64_t started = monotonic_ns();
    ChildProcess child = spawn(argv, [&] {
        ::setsid();
        enter_directory_or_root(cwd);
        // dup2 clears close-on-exec on the copies only.
        ::dup2(in.get(), STDIN_FILENO);
        ::dup2(out.write_end.get(), STDOUT_FILENO);
        ::dup2(err.write_end.get(), STDERR_FILENO);
    });
    // The child's ends must close here, or the pipes never reach end of file.
    in.reset();
    out.write_end.reset();
    err.write_end.reset();

    Capture captured_out{std::move(out.read_end), {}, 0};
    Capture captured_err{std::move(err.read_end), {}, 0};
    for (int fd : {captured_out.fd.get(), captured_err.fd.get()})
        set_nonblocking(fd);

    while (captured_out.fd || captured_err.fd) {
        pollfd fds[2] = {
            {captured_out.fd.get(), POLLIN, 0},  // a negative fd is skipped by poll
            {captured_err.fd.get(), POLLIN, 0},
        };
        int ready = ::poll(fds, 2, exit_check_interval_ms);
        if (ready < 0 && errno != EINTR)
            throw_errno("cannot poll the output of " + argv[0]);
        if (ready == 0 && child.try_wait()) {
            // Exited, yet something (a background job) holds the pipes
            // open: take what is there and do not wait for the rest.
            captured_out.read_available();
            captured_err.read_available();
            break;
        }
        if (ready <= 0)
            continue;
        if (fds[0].revents != 0)
            captured_out.read_available();
        if (fds[1].revents != 0)
            captured_err.read_available();
    }

    ProcessResult result;
    result.status = shell_status(child.wait());
    result.elapsed_ns = monotonic_ns() - started;
    result.out = std::move(captured_out.text);
    result.err = std::move(captured_err.text);
    if (captured_out.dropped > 0)
        result.err += truncation_note("stdout", captured_out.dropped);
    if (captured_err.dropped > 0)
        result.err += truncation_note("stderr", captured_err.dropped);
    return result;
}

void reap_orphans(pid_t spare) noexcept
{
    for (;;) {
        // Look before reaping: the child spared must keep its status for
        // the ChildProcess that waits for it.
        siginfo_t info{};
        if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0 ||
            info.si_pid == spare)
            return;
        int status = 0;
        ::waitpid(info.si_pid, &status, WNOHANG);
    }
}

}  // namespace kmsdk::agent
