// SPDX-License-Identifier: GPL-2.0
// `kmsdk debug -- WORDS`: the guest's command runs with gdb attached to its
// kernel, knowing the symbols of the -m modules wherever they load. gdb
// has the terminal (or runs a file of commands in batch mode, its output
// on stdout); the command's output goes to stderr.
#include "commands.hpp"
#include "forwarded_signals.hpp"
#include "guest_flags.hpp"
#include "kernel_health.hpp"

#include "kmsdk/debugger.hpp"
#include "kmsdk/kernel.hpp"

#include <fmt/format.h>

#include <csignal>
#include <memory>
#include <unistd.h>

namespace kmsdk::cli {
namespace {

struct DebugArgs {
    GuestFlags guest;
    KernelHealthPolicy health;
    std::string gdb_commands;
    std::string kernel_symbols;
    double timeout_s = 0;
};

void write_to_stderr(std::string_view piece)
{
    while (!piece.empty()) {
        auto written = ::write(STDERR_FILENO, piece.data(), piece.size());
        if (written <= 0)
            return;
        piece.remove_prefix(static_cast<std::size_t>(written));
    }
}

std::chrono::milliseconds command_timeout(const DebugArgs& args)
{
    if (args.timeout_s > 0)
        return std::chrono::milliseconds(static_cast<long long>(args.timeout_s * 1000));
    // At gdb's prompt the user takes the time they need; a script gets
    // five minutes.
    return args.gdb_commands.empty() ? std::chrono::hours{24} : std::chrono::minutes{5};
}

int debug(const DebugArgs& args, const std::vector<std::string>& words)
{
    auto command = Command::from_words(words);
    auto flags = args.guest;
    flags.gdb_stub = true;
    auto guest = boot_guest(flags);
    auto& signals = ForwardedSignals::install();

    DebuggerOptions options;
    for (const auto& module : flags.modules)
        options.module(module);
    if (!args.gdb_commands.empty())
        options.commands(args.gdb_commands);
    if (!args.kernel_symbols.empty())
        options.kernel_symbols(args.kernel_symbols);
    else if (auto vmlinux = guest.kernel().debug_vmlinux(); !vmlinux.empty())
        options.kernel_symbols(vmlinux);
    Debugger gdb{guest, options};
    if (!flags.quiet)
        fmt::print(stderr, "kmsdk: gdb attached; kernel symbols from {}\n", gdb.kernel_symbols());
    bool interactive = args.gdb_commands.empty();
    // Ctrl-C at the terminal is gdb's: it stops the guest.
    if (interactive)
        std::signal(SIGINT, SIG_IGN);

    Streams streams;
    streams.out = write_to_stderr;
    streams.err = write_to_stderr;
    auto result = gdb.run(command, streams, command_timeout(args));
    if (interactive && !flags.quiet)
        fmt::print(stderr, "kmsdk: the command exited with status {}; gdb has stopped the guest again: "
                           "look around, then quit gdb to end\n",
                   result.status);
    int gdb_status = gdb.finish();

    int status = args.health.verdict(guest.health(), result.status);
    if (gdb_status != 0) {
        fmt::print(stderr, "kmsdk: gdb exited with status {}\n", gdb_status);
        if (status == 0)
            status = exit_failure;
    }
    if (int signal = signals.take_undelivered())
        throw_interrupted(signal, "after the command ended");
    return status;
}

}  // namespace

Subcommand add_debug_command(CLI::App& app)
{
    auto args = std::make_shared<DebugArgs>();
    auto* command = app.add_subcommand(
        "debug", "Run a command in a guest with gdb attached to its kernel, knowing the symbols of "
                 "the -m modules wherever they load");
    args->guest.add_to(*command);
    args->health.add_to(*command);
    command->add_option("--gdb-commands", args->gdb_commands,
                        "Run gdb in batch mode with this file of commands (its output on stdout), "
                        "instead of at the terminal")
        ->check(CLI::ExistingFile);
    command->add_option("--kernel-symbols", args->kernel_symbols,
                        "A vmlinux with debug information for the kernel (default: the one "
                        "'kmsdk kernels fetch --debug-symbols' cached, else the guest's /proc/kallsyms)")
        ->check(CLI::ExistingFile);
    command->add_option("--timeout", args->timeout_s,
                        "Seconds the command may take, gdb's stops included (default: 300 with "
                        "--gdb-commands, none at the terminal)")
        ->check(CLI::PositiveNumber);
    command->footer(
        "The guest boots with QEMU's gdbstub and nokaslr, and stands still once gdb attaches. "
        "Modules given with -m have their symbols added at the addresses their sections load at, "
        "before their init function runs: a breakpoint on it, set before the command loads the "
        "module, is hit. At the terminal, set breakpoints and 'continue'; the command runs as the "
        "guest does, its output on stderr, and kmsdk exits with its status once you quit gdb. "
        "Modules are built with debug information when the kernel has CONFIG_DEBUG_INFO, as "
        "Debian's do.\n"
        "Examples:\n"
        "  kmsdk debug -m kms_hello.ko -- insmod kms_hello.ko whom=7\n"
        "  kmsdk debug -m kms_hello.ko --gdb-commands bt.gdb -- insmod kms_hello.ko\n"
        "    with bt.gdb: break kms_hello_init / continue / bt / print whom / continue");
    return {command, [args](const std::vector<std::string>& words) { return debug(*args, words); },
            CommandWords::required};
}

}  // namespace kmsdk::cli
