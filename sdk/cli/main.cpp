// SPDX-License-Identifier: GPL-2.0
// kmsdk: boot a throw-away guest on a real kernel and load modules into it.
#include "command_words.hpp"
#include "commands.hpp"
#include "forwarded_signals.hpp"

#include "kmsdk/guest.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace {

using namespace kmsdk::cli;

const char* const exit_codes_footer =
    "Exit codes: 0 success (run: the command's own status); 1 kmsdk could not do what was asked "
    "(the message says why and what to do); 2 bad command line; 128+N interrupted by signal N "
    "(130 SIGINT, 143 SIGTERM, 129 SIGHUP, 141 SIGPIPE); 250 the kernel reported a problem "
    "(an Oops, BUG, WARNING, lockup, hung task, KFENCE or SLUB report, or a new taint other than "
    "O and E), unless --allow-kernel-problems; 255 the guest panicked or hung.";

// A closed stdin, stdout or stderr is opened on /dev/null, before anything
// else opens a file: the next descriptor opened (the signal pipe, QEMU's
// socket) would take its number, and receive the guest command's output
// or be read as its input.
void keep_standard_descriptors_open()
{
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO})
        if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF)
            ::open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY);
}

int usage_error(const std::string& message, const CLI::App& subcommand)
{
    fmt::print(stderr, "kmsdk: {}\nRun 'kmsdk {} --help' for usage.\n", message,
               subcommand.get_name());
    return exit_usage;
}

// Whether the words after "--" suit the subcommand: run needs some.
int check_command_words(const Subcommand& command, const SplitCommandLine& line)
{
    if (command.words == CommandWords::required && line.command_words.empty())
        return usage_error(fmt::format("'kmsdk {0}' needs the command to run after '--', "
                                       "e.g. 'kmsdk {0} -- uname -r'",
                                       command.app->get_name()),
                           *command.app);
    return exit_ok;
}

// What went wrong with a command that takes words after "--" but was
// given them without it: CLI11 only says they were not expected.
void hint_at_separator(const CLI::ParseError& error, const std::vector<Subcommand>& commands,
                       const SplitCommandLine& line)
{
    if (line.has_separator || dynamic_cast<const CLI::ExtrasError*>(&error) == nullptr)
        return;
    for (const auto& command : commands)
        if (command.app->parsed() && command.words != CommandWords::none)
            fmt::print(stderr, "kmsdk: the guest command goes after '--': 'kmsdk {} [OPTIONS] "
                               "-- COMMAND...'\n", command.app->get_name());
}

// Whether the line has a "--" that belongs to CLI11 rather than to a guest
// command: the subcommand given takes none.
bool takes_no_words_after_separator(const std::vector<Subcommand>& commands,
                                    const SplitCommandLine& line)
{
    if (!line.has_separator)
        return false;
    for (const auto& command : commands)
        if (command.app->parsed())
            return command.words == CommandWords::none;
    return false;
}

int run(const Subcommand& command, const std::vector<std::string>& words)
{
    try {
        return command.action(words);
    } catch (const kmsdk::Interrupted& error) {
        // The Guest is gone by now: unwinding destroyed it, and QEMU and
        // its temporary folder with it. The message names the signal.
        std::string why = error.what();
        fmt::print(stderr, "kmsdk: {}; the guest was stopped\n",
                   why.empty() ? "interrupted by " + kmsdk::signal_name(error.signal()) : why);
        return exit_signal_base + error.signal();
    } catch (const kmsdk::CommandTimeout& error) {
        fmt::print(stderr, "kmsdk: {}\n", error.what());
        return exit_guest_died;
    } catch (const kmsdk::GuestCrashed& error) {
        fmt::print(stderr, "kmsdk: {}\n", error.what());
        return exit_guest_died;
    } catch (const std::exception& error) {
        fmt::print(stderr, "kmsdk: {}\n", error.what());
        return exit_failure;
    }
}

}  // namespace

int main(int argc, char** argv)
{
    keep_standard_descriptors_open();
    CLI::App app{"kmsdk: build, load and test out-of-tree kernel modules in throw-away QEMU guests "
                 "on real Debian kernels"};
    app.require_subcommand(1);
    app.footer(exit_codes_footer);

    std::vector<Subcommand> commands;
    for (auto add : {add_run_command, add_shell_command, add_debug_command, add_cycle_command, add_kernels_command,
                     add_snapshots_command, add_tour_command, add_sign_command, add_new_command, add_lab_command,
                     add_lint_command}) {
        commands.push_back(add(app));
        show_command_words_in_usage(*commands.back().app, commands.back().words);
    }

    auto line = split_at_separator(argc, argv);
    try {
        try {
            app.parse(line.option_count, argv);
        } catch (const CLI::ParseError&) {
            // Parsed without its "--" and what follows, a subcommand with
            // positionals may miss them: the whole line decides below.
            if (!takes_no_words_after_separator(commands, line))
                throw;
        }
        // A subcommand without a guest command reads "--" as any program
        // does, the end of its options: let CLI11 parse the whole line.
        if (takes_no_words_after_separator(commands, line))
            app.parse(argc, argv);
    } catch (const CLI::CallForHelp& help) {
        return app.exit(help);
    } catch (const CLI::CallForAllHelp& help) {
        return app.exit(help);
    } catch (const CLI::ParseError& error) {
        app.exit(error);
        hint_at_separator(error, commands, line);
        fmt::print(stderr, "Run 'kmsdk --help' for usage.\n");
        return exit_usage;
    }

    for (const auto& command : commands) {
        if (!command.app->parsed())
            continue;
        if (int refused = check_command_words(command, line))
            return refused;
        return run(command, command.words == CommandWords::none ? std::vector<std::string>{}
                                                                 : line.command_words);
    }
    return exit_usage;
}
