// SPDX-License-Identifier: GPL-2.0
//
// Child processes the bench starts (naive QEMU, the kmsdk command, ctest, a
// busy loop): none can outlive the bench, every wait has a deadline.
#pragma once

#include "child_process.hpp"
#include "scoped_env.hpp"  // the library's describe_wait_status()

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace kmsdk::bench {

using detail::describe_wait_status;

using Clock = std::chrono::steady_clock;

// Milliseconds from `start` to now.
double ms_since(Clock::time_point start);

// Children are the library's: SIGKILL when the bench dies (PR_SET_PDEATHSIG),
// killed and reaped when dropped, a pidfd to wait on.
using Child = detail::ChildProcess;

// argv[0] searched in PATH, stdout and stderr into `output`. With
// `own_group`, it leads a process group of its own, and kill() kills the
// whole group (ctest and its suites).
Child start(const std::vector<std::string>& argv, const std::filesystem::path& output,
            bool own_group = false);
// A child that spins on `cpu` until killed.
Child busy_loop(int cpu);
// Waits until the child exits, `deadline` passes or the bench is
// interrupted (nullopt then: still running).
std::optional<int> wait_until(Child& child, Clock::time_point deadline);

// Makes the bench the reaper of its orphaned descendants (or stops it),
// so that a QEMU whose parent (kmsdk) died is still ours to find and kill.
void become_subreaper(bool on = true);
// Descendants of the bench whose command name starts with `prefix`
// (e.g. "qemu-system"): "pid command line" each. With the bench a
// subreaper, a leaked QEMU shows up here even when its parent is gone.
std::vector<std::string> our_processes(const std::string& prefix);
// Live processes of a process group: "pid command line" each.
std::vector<std::string> processes_in_group(pid_t group);
// SIGKILL and reap every child that is left; how many there were.
std::size_t kill_leftover_children();

// Environment variables set for a scope: children started meanwhile
// inherit them, and the library reads some when a Guest is made
// (KMSDK_COLD, KMSDK_SNAPSHOT_DIR): how the bench measures `kmsdk run`
// cold, a guest suite cold, or a snapshot made into a folder of its own.
using detail::ScopedEnv;

// Set by SIGINT/SIGTERM; long loops check it between samples.
bool interrupted();
void install_interrupt_handlers();
// Throws when interrupted(), so RAII cleans up on the way out.
void check_interrupted();

}  // namespace kmsdk::bench
