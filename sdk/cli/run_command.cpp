// SPDX-License-Identifier: GPL-2.0
#include "commands.hpp"
#include "guest_flags.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <memory>

namespace kmsdk::cli {
namespace {

struct RunArgs {
    GuestFlags guest;
    std::vector<std::string> command;
    double timeout_s = 60;
};

int run(const RunArgs& args)
{
    auto guest = boot_guest(args.guest);
    std::string command;
    for (const auto& word : args.command)
        command += (command.empty() ? "" : " ") + word;
    auto timeout = std::chrono::milliseconds(static_cast<long long>(args.timeout_s * 1000));
    auto result = guest.run(command, timeout);
    std::fwrite(result.out.data(), 1, result.out.size(), stdout);
    std::fflush(stdout);
    std::fwrite(result.err.data(), 1, result.err.size(), stderr);

    // An oops kills the command, not the kernel: say what happened.
    auto health = guest.health();
    if (!health.problems.empty() || !health.agent_alive)
        fmt::print(stderr, "kmsdk: the kernel reported problems:\n{}", health.describe());
    // The guest is thrown away: dropping it kills QEMU at once, where a
    // clean power-off would only make the user wait for it.
    return result.status;
}

}  // namespace

Command add_run_command(CLI::App& app)
{
    auto args = std::make_shared<RunArgs>();
    auto* command = app.add_subcommand(
        "run", "Boot a guest, stage modules and files, run a shell command in it, and exit "
               "with its status");
    args->guest.add_to(*command);
    command->add_option("--timeout", args->timeout_s, "Seconds the command may take")
        ->capture_default_str();
    command->add_option("command", args->command, "The command to run in the guest (after --)")
        ->required();
    command->footer("Example: kmsdk run --module build/modules/6.12.117+deb12-amd64/kms_hello.ko "
                    "-- 'insmod kms_hello.ko whom=you && dmesg | tail -1'");
    return {command, [args] { return run(*args); }};
}

}  // namespace kmsdk::cli
