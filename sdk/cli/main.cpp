// SPDX-License-Identifier: GPL-2.0
// kmsdk: boot a throw-away guest on a real kernel and load modules into it.
#include "commands.hpp"

#include "kmsdk/guest.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <vector>

int main(int argc, char** argv)
{
    using namespace kmsdk::cli;
    CLI::App app{"kmsdk: build, load and test out-of-tree kernel modules in throw-away QEMU guests "
                 "on real Debian kernels"};
    app.require_subcommand(1);
    app.footer("Exit codes: 0 success; run: the command's own status; 1 kmsdk failed (the message "
               "says why and what to do); 2 bad command line; 255 the guest panicked or hung.");

    std::vector<Command> commands;
    for (auto add : {add_run_command, add_shell_command, add_cycle_command, add_kernels_command,
                     add_snapshots_command, add_tour_command})
        commands.push_back(add(app));

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& help) {
        return app.exit(help);
    } catch (const CLI::CallForAllHelp& help) {
        return app.exit(help);
    } catch (const CLI::ParseError& error) {
        app.exit(error);
        fmt::print(stderr, "Run 'kmsdk --help' for usage.\n");
        return exit_usage;
    }

    try {
        for (const auto& command : commands)
            if (command.app->parsed())
                return command.action();
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
    return exit_usage;
}
