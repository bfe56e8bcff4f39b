// SPDX-License-Identifier: GPL-2.0
// `kmsdk run -- WORDS`: the guest's command behaves as if it were kmsdk's
// child: its output streams through as it comes, piped stdin goes in,
// signals reach it, and kmsdk exits with its status.
#include "commands.hpp"
#include "forwarded_signals.hpp"
#include "guest_flags.hpp"
#include "host_streams.hpp"
#include "kernel_health.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <memory>

namespace kmsdk::cli {
namespace {

struct RunArgs {
    GuestFlags guest;
    KernelHealthPolicy health;
    double timeout_s = 60;
};

int run(const RunArgs& args, const std::vector<std::string>& words)
{
    auto command = kmsdk::Command::from_words(words);
    auto timeout = std::chrono::milliseconds(static_cast<long long>(args.timeout_s * 1000));
    auto guest = boot_guest(args.guest);
    auto& signals = ForwardedSignals::install();

    HostStreams host{signals};
    auto result = guest.run(command, host.streams(), timeout);
    host.finish();

    // An Oops kills the command, not the kernel: the run fails for it
    // however the command ended.
    int status = args.health.verdict(guest.health(), result.status);
    if (!host.failure().empty()) {
        fmt::print(stderr, "kmsdk: {}\n", host.failure());
        status = exit_failure;
    }
    if (int signal = signals.take_undelivered())
        throw_interrupted(signal, "after the command ended");
    // The guest is thrown away: dropping it kills QEMU at once, where a
    // clean power-off would only make the user wait for it.
    return status;
}

}  // namespace

Subcommand add_run_command(CLI::App& app)
{
    auto args = std::make_shared<RunArgs>();
    auto* command = app.add_subcommand(
        "run", "Boot a guest, stage modules and files, run a command in it as if it ran here, "
               "and exit with its status");
    args->guest.add_to(*command);
    args->health.add_to(*command);
    command->add_option("--timeout", args->timeout_s, "Seconds the command may take")
        ->capture_default_str()
        ->check(CLI::Validator{[](const std::string& value) {
                                   char* end = nullptr;
                                   double seconds = std::strtod(value.c_str(), &end);
                                   return *end == '\0' && seconds > 0
                                              ? std::string{}
                                              : "must be a number of seconds above 0, not " + value;
                               },
                               "", "seconds above 0"});
    command->footer(
        "After '--', one word is a shell command line (run with sh -c), two or more an argument "
        "vector run exactly as given. The command's stdout and stderr are kmsdk's, as it writes "
        "them; a piped or redirected stdin is its stdin; SIGINT, SIGTERM and SIGHUP go to it. "
        "Kernel problems (an Oops, a WARNING, a new taint) fail the run with status 250, unless "
        "--allow-kernel-problems.\n"
        "Examples:\n"
        "  kmsdk run -m kms_hello.ko -- insmod kms_hello.ko whom=you\n"
        "  kmsdk run -m build/modules/6.12.117+deb12-amd64/kms_hello.ko -- "
        "'insmod kms_hello.ko whom=you && dmesg | tail -n 1'\n"
        "  kmsdk run --kernel 6.1 --kernel-module nf_conntrack_netlink -- sh -c "
        "'modprobe nf_conntrack_netlink && lsmod'\n"
        "  seq 100 | kmsdk run -- wc -l");
    return {command, [args](const std::vector<std::string>& words) { return run(*args, words); },
            CommandWords::required};
}

}  // namespace kmsdk::cli
