// SPDX-License-Identifier: GPL-2.0
#include "commands.hpp"
#include "forwarded_signals.hpp"
#include "guest_flags.hpp"
#include "kernel_health.hpp"
#include "progress.hpp"

#include "kmsdk/modinfo.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>

namespace kmsdk::cli {
namespace {

struct CycleArgs {
    GuestFlags guest;
    KernelHealthPolicy health;
    std::string ko;
    std::string params;
    unsigned cycles = 100;
};

double percentile_ms(std::vector<double> samples, double fraction)
{
    std::sort(samples.begin(), samples.end());
    auto index = static_cast<std::size_t>(std::lround(fraction * static_cast<double>(samples.size() - 1)));
    return samples[std::min(index, samples.size() - 1)];
}

double to_ms(std::chrono::nanoseconds duration)
{
    return std::chrono::duration<double, std::milli>(duration).count();
}

int cycle(CycleArgs args)
{
    auto name = ModuleInfo::read(args.ko).name();
    // The guest has the file under its own name (kms-hello-1.ko holds
    // kms_hello_1); one not named *.ko is staged as <name>.ko.
    auto file = std::filesystem::path{args.ko}.filename().string();
    auto staged = file.ends_with(".ko") ? file : name + ".ko";
    args.guest.modules.push_back(args.ko);
    auto guest = boot_guest(args.guest);
    const auto& signals = ForwardedSignals::install();

    // A failed insmod or rmmod is often the kernel's doing: its report
    // comes with the failure, and decides the status.
    auto failed = [&](Progress& progress, unsigned i, const char* step, const ModuleResult& r) {
        progress.end_line();
        fmt::print(stderr, "kmsdk: cycle {}: {}: {}\n", i, step, r.message);
        return args.health.verdict(guest.health(), exit_failure);
    };
    std::vector<double> wall, in_guest;
    {
        Progress progress{"cycles", args.cycles, args.guest.quiet};
        for (unsigned i = 1; i <= args.cycles; ++i) {
            // insmod and rmmod are not commands the library could deliver
            // a signal to: stop between them.
            signals.stop_if_received(fmt::format("after {} of {} cycles", i - 1, args.cycles));
            auto started = std::chrono::steady_clock::now();
            auto loaded = guest.insmod(staged, args.params);
            if (!loaded.ok())
                return failed(progress, i, "insmod", loaded);
            auto removed = guest.rmmod(name);
            if (!removed.ok())
                return failed(progress, i, "rmmod", removed);
            wall.push_back(to_ms(std::chrono::steady_clock::now() - started));
            in_guest.push_back(to_ms(loaded.elapsed + removed.elapsed));
            progress.update(i);
        }
    }

    auto health = guest.health();
    fmt::print("{} insmod+rmmod cycles of {} on {}:\n", args.cycles, name, guest.release());
    fmt::print("  round trip from the host: median {:.2f} ms, p95 {:.2f} ms\n",
               percentile_ms(wall, 0.5), percentile_ms(wall, 0.95));
    fmt::print("  inside the guest:         median {:.2f} ms, p95 {:.2f} ms\n",
               percentile_ms(in_guest, 0.5), percentile_ms(in_guest, 0.95));
    std::fflush(stdout);
    int status = args.health.verdict(health, exit_ok);
    signals.stop_if_received("after the last cycle");
    guest.shutdown();
    return status;
}

}  // namespace

Subcommand add_cycle_command(CLI::App& app)
{
    auto args = std::make_shared<CycleArgs>();
    auto* command = app.add_subcommand(
        "cycle", "Load and unload a module N times in a guest and report the latency per cycle; "
                 "fails on any error, and with status 250 on an Oops, a WARNING or a new taint");
    command->add_option("module", args->ko, "The .ko to cycle")->required()->check(CLI::ExistingFile);
    command->add_option("-n,--cycles", args->cycles, "How many cycles")
        ->capture_default_str()
        ->check(CLI::Range(1u, 1000000u));
    command->add_option("-p,--params", args->params, "Module parameters for each insmod");
    args->guest.add_to(*command);
    args->health.add_to(*command);
    command->footer("Example: kmsdk cycle build/modules/6.12.117+deb12-amd64/kms_hello.ko -n 1000 "
                    "-p whom=cycle");
    return {command, [args](const std::vector<std::string>&) { return cycle(*args); }};
}

}  // namespace kmsdk::cli
