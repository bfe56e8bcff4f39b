// SPDX-License-Identifier: GPL-2.0
//
// gdb on a guest's kernel, through QEMU's gdbstub, knowing the symbols of
// out-of-tree modules wherever the kernel loads them:
//
//   kmsdk::Guest guest{kmsdk::GuestOptions{}.gdb_stub().module(hello_ko)};
//   kmsdk::Debugger gdb{guest, kmsdk::DebuggerOptions{}.module(hello_ko).commands("bt.gdb")};
//   auto insmod = gdb.run(kmsdk::Command::shell("insmod kms_hello.ko whom=7"));
//   int status = gdb.finish();
//
// gdb stops the guest when it attaches. A module already loaded then has
// its symbols added at the addresses /sys/module/<name>/sections/ gives;
// one loaded later has them added at the addresses the kernel's loader
// gives its sections, from a breakpoint in the loader that stops nothing
// for long: so `break <module function>` set before the insmod (pending
// until then) is hit by it, its init function included. An unloaded
// module's symbols are removed.
//
// Kernel symbols come from a vmlinux with debug information when given
// (the kernel's -dbg package: `kmsdk kernels fetch --debug-symbols`), else
// from the guest's /proc/kallsyms: names and addresses only, enough for
// breakpoints on kernel functions and names in a backtrace.
#pragma once

#include "kmsdk/guest.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <vector>

namespace kmsdk {

class DebuggerOptions {
public:
    // A .ko (built with debug information, as Kbuild does for kernels
    // with CONFIG_DEBUG_INFO) whose symbols gdb gets when it loads.
    DebuggerOptions& module(std::filesystem::path ko);
    DebuggerOptions& modules(const std::vector<std::filesystem::path>& kos);
    // gdb runs this file of commands in batch mode (-batch -x FILE) and
    // exits; default: it runs interactively, on this process's terminal.
    DebuggerOptions& commands(std::filesystem::path file);
    // A vmlinux with debug information for the guest's kernel; default:
    // symbols from the guest's /proc/kallsyms.
    DebuggerOptions& kernel_symbols(std::filesystem::path vmlinux);
    // The gdb to run (default: $KMSDK_GDB, else gdb from PATH).
    DebuggerOptions& gdb(std::filesystem::path program);

private:
    friend class Debugger;
    std::vector<std::filesystem::path> modules_;
    std::filesystem::path commands_;
    std::filesystem::path kernel_symbols_;
    std::filesystem::path gdb_;
};

class Debugger {
public:
    // Attaches gdb to the guest (made with GuestOptions::gdb_stub()) and
    // returns once gdb watches module loads; throws GuestError, saying
    // why and what to do, when gdb is missing or cannot attach in time.
    Debugger(Guest& guest, DebuggerOptions options);
    ~Debugger();  // kills gdb if it still runs
    Debugger(const Debugger&) = delete;
    Debugger& operator=(const Debugger&) = delete;

    // Where the kernel's symbols came from, for messages.
    const std::string& kernel_symbols() const;

    // Runs the command in the guest while gdb is attached, as Guest::run
    // does; it makes progress only while gdb lets the guest run.
    CommandResult run(const Command& command, Streams& streams, std::chrono::milliseconds timeout);
    CommandResult run(const Command& command, std::chrono::milliseconds timeout = 60s);

    // Waits for gdb to end, and returns its exit status (128 + signal
    // for one killed). A gdb that runs a script (batch mode, or commands
    // piped to its stdin) and still waits for the guest (`continue` with
    // no breakpoint left to hit) is interrupted, and killed if it does not
    // end within `timeout`; at a terminal, gdb is interrupted once, to give
    // the user its prompt, and ends when the user quits it.
    int finish(std::chrono::milliseconds timeout = 10s);

    class Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace kmsdk
