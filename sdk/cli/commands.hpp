// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace kmsdk::cli {

// Exit codes of the kmsdk command (the README lists them).
enum ExitCode : int {
    exit_ok = 0,
    exit_failure = 1,   // kmsdk could not do what was asked: the message says why
    exit_usage = 2,     // the command line was wrong
    exit_guest_died = 255,  // the guest panicked or hung
};

// Each subcommand registers itself with its options and returns what
// runs it once the command line is parsed.
using Action = std::function<int()>;
struct Command {
    CLI::App* app;
    Action action;
};

Command add_run_command(CLI::App& app);
Command add_shell_command(CLI::App& app);
Command add_cycle_command(CLI::App& app);
Command add_kernels_command(CLI::App& app);
Command add_tour_command(CLI::App& app);
Command add_snapshots_command(CLI::App& app);

}  // namespace kmsdk::cli
