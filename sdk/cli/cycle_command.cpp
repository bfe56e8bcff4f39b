// SPDX-License-Identifier: GPL-2.0
#include "commands.hpp"
#include "guest_flags.hpp"

#include "kmsdk/modinfo.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

namespace kmsdk::cli {
namespace {

struct CycleArgs {
    GuestFlags guest;
    std::string ko;
    std::string params;
    unsigned cycles = 100;
};

double percentile_ms(std::vector<double> samples, double fraction)
{
    std::sort(samples.begin(), samples.end());
    auto index = static_cast<std::size_t>(fraction * static_cast<double>(samples.size() - 1) + 0.5);
    return samples[std::min(index, samples.size() - 1)];
}

double to_ms(std::chrono::nanoseconds duration)
{
    return std::chrono::duration<double, std::milli>(duration).count();
}

int cycle(CycleArgs args)
{
    auto name = ModuleInfo::read(args.ko).name();
    args.guest.modules.push_back(args.ko);
    auto guest = boot_guest(args.guest);

    std::vector<double> wall, in_guest;
    for (unsigned i = 1; i <= args.cycles; ++i) {
        auto started = std::chrono::steady_clock::now();
        auto loaded = guest.insmod(name, args.params);
        if (!loaded.ok()) {
            fmt::print(stderr, "kmsdk: cycle {}: insmod: {}\n", i, loaded.message);
            return exit_failure;
        }
        auto removed = guest.rmmod(name);
        if (!removed.ok()) {
            fmt::print(stderr, "kmsdk: cycle {}: rmmod: {}\n", i, removed.message);
            return exit_failure;
        }
        wall.push_back(to_ms(std::chrono::steady_clock::now() - started));
        in_guest.push_back(to_ms(loaded.elapsed + removed.elapsed));
        if (!args.guest.quiet && (i % 20 == 0 || i == args.cycles))
            fmt::print(stderr, "\rkmsdk: {}/{} cycles", i, args.cycles);
    }
    if (!args.guest.quiet)
        fmt::print(stderr, "\n");

    auto health = guest.health();
    fmt::print("{} insmod+rmmod cycles of {} on {}:\n", args.cycles, name, guest.release());
    fmt::print("  round trip from the host: median {:.2f} ms, p95 {:.2f} ms\n",
               percentile_ms(wall, 0.5), percentile_ms(wall, 0.95));
    fmt::print("  inside the guest:         median {:.2f} ms, p95 {:.2f} ms\n",
               percentile_ms(in_guest, 0.5), percentile_ms(in_guest, 0.95));
    if (!health.healthy()) {
        fmt::print(stderr, "kmsdk: the kernel reported problems:\n{}", health.describe());
        return exit_failure;
    }
    guest.shutdown();
    return exit_ok;
}

}  // namespace

Command add_cycle_command(CLI::App& app)
{
    auto args = std::make_shared<CycleArgs>();
    auto* command = app.add_subcommand(
        "cycle", "Load and unload a module N times in a guest and report the latency per cycle; "
                 "fails on any error, Oops or WARN");
    command->add_option("module", args->ko, "The .ko to cycle")->required()->check(CLI::ExistingFile);
    command->add_option("-n,--cycles", args->cycles, "How many cycles")
        ->capture_default_str()
        ->check(CLI::Range(1u, 1000000u));
    command->add_option("-p,--params", args->params, "Module parameters for each insmod");
    args->guest.add_to(*command);
    return {command, [args] { return cycle(*args); }};
}

}  // namespace kmsdk::cli
