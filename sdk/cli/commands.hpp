// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace kmsdk::cli {

// Exit codes of the kmsdk command: the one list, which main's --help
// footer and the README repeat.
enum ExitCode : int {
    exit_ok = 0,        // for run: the command's own status instead
    exit_failure = 1,   // kmsdk could not do what was asked: the message says why
    exit_usage = 2,     // the command line was wrong
    // 128 + N: interrupted by signal N (SIGINT, SIGTERM, SIGHUP; SIGPIPE
    // when the output's reader went away), as a shell reports it.
    exit_signal_base = 128,
    exit_kernel_problem = 250,  // the kernel reported an Oops, a WARNING, a new taint...
    exit_guest_died = 255,      // the guest panicked or hung
};

// What a subcommand takes after the first "--" of the command line: words
// no option parser sees, passed on exactly as given.
enum class CommandWords {
    none,
    optional,  // `shell`: a command instead of the interactive shell
    required,  // `run`
};

// Each subcommand registers itself with its options and returns what
// runs it once the command line is parsed, given the words after "--".
using Action = std::function<int(const std::vector<std::string>& command_words)>;
struct Subcommand {
    CLI::App* app;
    Action action;
    CommandWords words = CommandWords::none;
};

Subcommand add_run_command(CLI::App& app);
Subcommand add_shell_command(CLI::App& app);
Subcommand add_cycle_command(CLI::App& app);
Subcommand add_kernels_command(CLI::App& app);
Subcommand add_tour_command(CLI::App& app);
Subcommand add_snapshots_command(CLI::App& app);
Subcommand add_sign_command(CLI::App& app);
Subcommand add_new_command(CLI::App& app);
Subcommand add_lint_command(CLI::App& app);
Subcommand add_debug_command(CLI::App& app);
Subcommand add_lab_command(CLI::App& app);

}  // namespace kmsdk::cli
