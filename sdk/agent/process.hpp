// SPDX-License-Identifier: GPL-2.0
//
// Child processes: fork + exec with the agent's conventions, and
// run_process, which collects a tool's output for the agent's own uses (the
// boot pass). A Run request streams instead: run.cpp and relay.cpp.
#pragma once

#include "fd.hpp"

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace kmsdk::agent {

// A child the agent started. If it is still running when dropped (an
// exception unwound past it), its process group is killed and it is reaped,
// so that no request leaves a zombie or a stray process behind. That reap
// waits a moment at most: a process stuck in the kernel does not die of
// SIGKILL, and PID 1 must not hang on it (reap_orphans collects it later).
class ChildProcess {
public:
    ChildProcess() = default;
    explicit ChildProcess(pid_t pid) : pid_{pid} {}
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess();

    pid_t pid() const noexcept { return pid_; }
    // The wait(2) status once it has exited, nullopt while it runs.
    std::optional<int> try_wait();
    int wait();

private:
    void kill_and_reap() noexcept;
    pid_t pid_ = -1;
    std::optional<int> status_;
};

// Forks; the child runs prepare_child() (redirections, session, directory),
// then execs argv[0]: a path, or a name looked up in PATH as execvp does
// (the agent's PATH, or /usr/sbin:/usr/bin:/sbin:/bin without one). If the
// exec fails the child says so on its stderr and exits 127, as a shell does.
ChildProcess spawn(const std::vector<std::string>& argv,
                   const std::function<void()>& prepare_child);

// Where a command runs: "" means the staged modules' folder, made if missing.
std::string resolve_working_directory(const std::string& requested);
// In a child: chdir there, or to / if that fails (the command still runs).
void enter_directory_or_root(const std::string& directory) noexcept;

struct ProcessResult {
    int status = 0;  // exit code, or 128 + signal
    std::string out;
    std::string err;
    std::uint64_t elapsed_ns = 0;  // fork to reap
};

// Runs argv in a new session in directory `cwd`, stdin /dev/null, and
// collects its stdout and stderr (each capped at 64 MiB; a note on stderr
// says when output was dropped). Returns when the process has exited and
// its output is read: a background job that keeps the pipes open does not
// hold the reply.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& cwd);

// /dev/null for reading: the stdin of a command given no input.
UniqueFd open_null_input();

// PID 1 inherits every orphan: collect the exit status of any child nobody
// waits for. `spare` is a child whose ChildProcess is alive and waits for
// it itself; any other live ChildProcess could have its status taken.
void reap_orphans(pid_t spare = -1) noexcept;

}  // namespace kmsdk::agent
