// SPDX-License-Identifier: GPL-2.0
//
// kmsdk_bench: kmsdk's guest against the naive QEMU recipe, and kmsdk warm
// (restoring a snapshot) against kmsdk cold (booting), on every cached
// kernel, in one invocation (see bench/README.md).
//
//   kmsdk_bench                       every figure, every kernel, the guest suites warm and cold
//   kmsdk_bench -k 6.1 --runs 5       fewer boots, one kernel
//   kmsdk_bench stress --boots 200    consecutive cold boots with the other core busy
//   kmsdk_bench streaming -k 6.1      the streamed Guest::run: throughput, latency, signals
//   kmsdk_bench clones --guests 4     N guests restored at once against N booted at once
//   kmsdk_bench cmdline --append W    cold boots with kernel parameters W against without
//   kmsdk_bench debug_memory          --debug-memory's cost: warm runs and the stacking suite
#include "clones.hpp"
#include "cmdline.hpp"
#include "debug_memory.hpp"
#include "compare.hpp"
#include "environment.hpp"
#include "process.hpp"
#include "streaming.hpp"
#include "stress.hpp"
#include "suite.hpp"

#include "kmsdk/guest.hpp"
#include "kmsdk/snapshots.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>

namespace {

using namespace kmsdk;
using namespace kmsdk::bench;

struct Args {
    std::vector<std::string> kernels;
    unsigned runs = 10;
    unsigned ops = 200;
    std::string json;
    std::string accel = "tcg";
    bool no_suite = false;
    unsigned suite_timeout_s = 1800;
    std::string build_dir = KMSDK_BENCH_BUILD_DIR;
    std::string kmsdk_cli = KMSDK_BENCH_CLI;
    std::string modules_dir = KMSDK_BENCH_MODULES_DIR;
    unsigned boots = 200;
    int busy_cpu = -1;
    double slow_ms = 5000;
    unsigned stream_mib = 256;
    unsigned head_mib = 32;
    unsigned big_mib = 1024;
    unsigned round_trips = 20;
    std::string baseline_agent;
    unsigned clone_guests = 4;
    std::string append;
    unsigned suite_runs = 3;
};

// The kernels asked for, or every cached kernel kms_hello is built for.
std::vector<Kernel> chosen_kernels(const Args& args)
{
    std::vector<Kernel> kernels;
    if (!args.kernels.empty()) {
        for (const auto& name : args.kernels)
            kernels.push_back(Kernel::find(name));
        return kernels;
    }
    for (auto& kernel : Kernel::list())
        if (std::filesystem::exists(std::filesystem::path{args.modules_dir} / kernel.release() /
                                    "kms_hello.ko"))
            kernels.push_back(kernel);
    if (kernels.empty())
        throw std::runtime_error(fmt::format(
            "no cached kernel has kms_hello.ko built in {}: build the project first "
            "(cmake --build --preset default)",
            args.modules_dir));
    // Oldest first, as the README's tables are.
    std::reverse(kernels.begin(), kernels.end());
    return kernels;
}

void write_json(const std::string& path, const std::string& text)
{
    std::ofstream out{path, std::ios::trunc};
    out << text;
    if (!out)
        throw std::runtime_error(fmt::format("cannot write {}", path));
    fmt::print(stderr, "kmsdk_bench: wrote {}\n", path);
}

// No QEMU of ours may outlive the bench: finds, reports and kills any.
bool no_qemu_left()
{
    auto left = our_processes("qemu-system");
    for (const auto& process : left)
        fmt::print(stderr, "kmsdk_bench: ERROR: QEMU left running: {}\n", process);
    kill_leftover_children();
    if (left.empty())
        fmt::print("\nQEMU processes started by the bench still running: none\n");
    return left.empty();
}

int measure(const Args& args)
{
    auto environment = describe_environment(args.accel);
    environment.runs = args.runs;
    environment.ops = args.ops;
    print_environment(environment);
    std::fflush(stdout);

    BenchConfig config;
    config.kmsdk_cli = args.kmsdk_cli;
    config.modules_dir = args.modules_dir;
    config.accel = args.accel;
    config.runs = args.runs;
    config.ops = args.ops;
    std::vector<KernelReport> reports;
    bool errors = false;
    for (const auto& kernel : chosen_kernels(args)) {
        reports.push_back(compare_on(kernel, config));
        print_kernel_report(reports.back());
        std::fflush(stdout);
        errors = errors || !reports.back().errors.empty();
        check_interrupted();
    }

    // Warm first, as a user's suites run; then every guest booted cold.
    std::vector<SuiteReport> suites;
    for (bool cold : {false, true}) {
        if (args.no_suite || interrupted())
            break;
        fmt::print(stderr, "running the guest suites, {}\n", cold ? "cold" : "warm");
        auto log = std::filesystem::temp_directory_path() /
                   fmt::format("kmsdk-bench-{}-ctest-{}.log", ::getpid(), cold ? "cold" : "warm");
        auto snapshots_before = list_snapshots().size();
        suites.push_back(run_guest_suites(args.build_dir, 2, log, args.suite_timeout_s, cold));
        auto& suite = suites.back();
        print_suite_report(suite);
        if (!cold) {
            // Its first guest of each kind makes that kind's snapshot, if
            // the cache has none yet: the warm run then pays for making it.
            auto snapshots_after = list_snapshots().size();
            fmt::print("snapshots in the cache: {} before, {} after this run\n", snapshots_before,
                       snapshots_after);
        }
        std::fflush(stdout);
        errors = errors || !suite.error.empty() || !suite.leaked.empty() || suite.exit_status != 0;
        if (suite.error.empty()) {
            std::error_code ignored;
            std::filesystem::remove(log, ignored);
        }
    }
    print_suite_ratio(suites);
    environment.load_after = load_average();
    fmt::print("\nload average at end: {}\n", environment.load_after);
    if (!args.json.empty())
        write_json(args.json, to_json(environment, reports, suites, nullptr));
    return errors ? 1 : 0;
}

int stress(const Args& args)
{
    auto environment = describe_environment(args.accel);
    print_environment(environment);
    StressOptions options;
    options.boots = args.boots;
    options.busy_cpu = args.busy_cpu;
    options.slow_ms = args.slow_ms;
    for (const auto& kernel : chosen_kernels(args))
        options.kernels.push_back(kernel.release());
    auto report = run_stress(options);
    print_stress_report(report);
    environment.load_after = load_average();
    if (!args.json.empty())
        write_json(args.json, to_json(environment, {}, {}, &report));
    return report.failed + report.other_errors == 0 && report.completed == report.boots ? 0 : 1;
}

// The environment, then `measure` on each chosen kernel, each report
// printed as it is done, and --json at the end. The exit status.
int per_kernel(const Args& args, const std::function<KernelReport(const Kernel&)>& measure)
{
    auto environment = describe_environment(args.accel);
    environment.runs = args.runs;
    print_environment(environment);
    std::fflush(stdout);
    std::vector<KernelReport> reports;
    bool errors = false;
    for (const auto& kernel : chosen_kernels(args)) {
        reports.push_back(measure(kernel));
        print_kernel_report(reports.back());
        std::fflush(stdout);
        errors = errors || !reports.back().errors.empty();
        check_interrupted();
    }
    environment.load_after = load_average();
    fmt::print("\nload average at end: {}\n", environment.load_after);
    if (!args.json.empty())
        write_json(args.json, to_json(environment, reports, {}, nullptr));
    return errors ? 1 : 0;
}

int streaming(const Args& args)
{
    StreamingConfig config;
    config.kmsdk_cli = args.kmsdk_cli;
    config.runs = args.runs;
    config.stream_bytes = std::size_t{args.stream_mib} << 20;
    config.head_bytes = std::size_t{args.head_mib} << 20;
    config.big_bytes = std::size_t{args.big_mib} << 20;
    config.round_trips = args.round_trips;
    config.baseline_agent = args.baseline_agent;
    return per_kernel(args, [&config](const Kernel& kernel) { return streaming_on(kernel, config); });
}

int clones(const Args& args)
{
    ClonesConfig config{.guests = args.clone_guests, .rounds = args.runs};
    return per_kernel(args, [&config](const Kernel& kernel) { return clones_on(kernel, config); });
}

int cmdline(const Args& args)
{
    CmdlineConfig config{.append = args.append, .rounds = args.runs};
    return per_kernel(args, [&config](const Kernel& kernel) { return cmdline_on(kernel, config); });
}

int debug_memory(const Args& args)
{
    DebugMemoryConfig config{.kmsdk_cli = args.kmsdk_cli,
                             .build_dir = args.build_dir,
                             .runs = args.runs,
                             .suite_runs = args.suite_runs};
    return per_kernel(args, [&config](const Kernel& kernel) { return debug_memory_on(kernel, config); });
}

}  // namespace

int main(int argc, char** argv)
{
    Args args;
    CLI::App app{"kmsdk_bench: kmsdk's guest against the naive QEMU recipe (pc machine, SeaBIOS, "
                 "bzImage, gzip initramfs, busybox /init), and kmsdk warm (restoring a snapshot) "
                 "against kmsdk cold (booting), measured side by side"};
    app.add_option("-k,--kernel", args.kernels,
                   "Kernel release or series (repeatable; default: every cached kernel "
                   "kms_hello is built for)");
    app.add_option("--runs", args.runs,
                   "Boots of each kind, and recoveries after an Oops each way, per kernel; "
                   "transfers are twice this")
        ->capture_default_str()
        ->check(CLI::Range(1u, 1000u));
    app.add_option("--ops", args.ops, "Round trips and insmod/rmmod cycles in one booted guest")
        ->capture_default_str()
        ->check(CLI::Range(1u, 100000u));
    app.add_option("--json", args.json, "Also write every figure to this file");
    app.add_option("--accel", args.accel, "QEMU accelerator, for both recipes")
        ->capture_default_str()
        ->check(CLI::IsMember({"tcg", "kvm"}));
    app.add_flag("--no-suite", args.no_suite,
                 "Do not run the guest suites (ctest -L guest, warm and then cold)");
    app.add_option("--suite-timeout", args.suite_timeout_s,
                   "Seconds the guest suites may take, each run")
        ->capture_default_str();
    app.add_option("--build-dir", args.build_dir, "The build folder ctest runs in")
        ->capture_default_str();
    app.add_option("--kmsdk", args.kmsdk_cli, "The kmsdk command to time")
        ->capture_default_str()
        ->check(CLI::ExistingFile);
    app.add_option("--modules-dir", args.modules_dir,
                   "Where <release>/kms_hello.ko and <release>/kms_fault_oops.ko are")
        ->capture_default_str();

    auto* stress_command = app.add_subcommand(
        "stress", "Boot guests one after another with a busy loop on the other CPU; count boots "
                  "that needed a retry and boots that failed. Every guest boots cold "
                  "(GuestOptions::cold()), never from a snapshot: this is about boot robustness");
    stress_command->fallthrough();
    stress_command->add_option("--boots", args.boots, "How many boots")
        ->capture_default_str()
        ->check(CLI::Range(1u, 100000u));
    stress_command->add_option("--busy-cpu", args.busy_cpu, "The CPU to keep busy (default: the last)");
    stress_command->add_option("--slow-ms", args.slow_ms,
                               "Read the kernel log of boots slower than this, to say where the "
                               "time went")
        ->capture_default_str();

    auto* streaming_command = app.add_subcommand(
        "streaming", "The streamed Guest::run in one guest per kernel: throughput each way "
                     "against Guest::read/write of 1 MiB and the guest's own ceiling, a line's "
                     "latency, the agent's memory during a large output, and what a SIGTERM costs "
                     "through the library and through `kmsdk run`. --runs rounds (each streams "
                     "--mib four times)");
    streaming_command->fallthrough();
    streaming_command->add_option("--mib", args.stream_mib,
                                  "MiB streamed each way through dd, each round")
        ->capture_default_str()
        ->check(CLI::Range(1u, 4096u));
    streaming_command->add_option("--head-mib", args.head_mib,
                                  "MiB streamed out through busybox head -c, each round (a byte "
                                  "at a time in the guest: slower)")
        ->capture_default_str()
        ->check(CLI::Range(1u, 4096u));
    streaming_command->add_option("--big-mib", args.big_mib,
                                  "MiB streamed out once, with the agent's memory read around it "
                                  "(0: skip)")
        ->capture_default_str()
        ->check(CLI::Range(0u, 16384u));
    streaming_command->add_option("--round-trips", args.round_trips,
                                  "Lines sent through a streamed `cat`, each round")
        ->capture_default_str()
        ->check(CLI::Range(1u, 10000u));
    streaming_command
        ->add_option("--baseline-agent", args.baseline_agent,
                     "Another build of kmsdk-agent (say, main's) to compare with: a second guest "
                     "runs it, booted cold, and each round streams `dd` out through both")
        ->check(CLI::ExistingFile);

    auto* clones_command = app.add_subcommand(
        "clones", "Shared clones: --guests guests restored from one snapshot at once, against as "
                  "many booted at once: the time until all ran `true`, and their QEMUs' RSS and "
                  "PSS summed. --runs rounds of each, alternating");
    clones_command->fallthrough();
    clones_command->add_option("--guests", args.clone_guests, "Guests started at once")
        ->capture_default_str()
        ->check(CLI::Range(1u, 32u));

    auto* cmdline_command = app.add_subcommand(
        "cmdline", "Kernel parameters, A/B: --runs cold boots with --append's words on the guest's "
                   "kernel command line against as many without, alternating. Errors if the "
                   "kernel lists a word as unknown; says which initcalls an initcall_blacklist= "
                   "really skipped");
    cmdline_command->fallthrough();
    cmdline_command->add_option("--append", args.append, "The words under test")->required();

    auto* debug_memory_command = app.add_subcommand(
        "debug_memory", "What --debug-memory costs, A/B: --runs warm `kmsdk run -- true` with "
                        "KMSDK_DEBUG_MEMORY=1 against as many without, then --suite-runs runs of "
                        "the stacking guest suite each way, alternating");
    debug_memory_command->fallthrough();
    debug_memory_command->add_option("--suite-runs", args.suite_runs, "Stacking suite runs each way")
        ->capture_default_str()
        ->check(CLI::Range(1u, 100u));

    CLI11_PARSE(app, argc, argv);

    install_interrupt_handlers();
    int status = 1;
    try {
        become_subreaper();
        // Both recipes on the same accelerator; `kmsdk run` reads it from here.
        ::setenv("KMSDK_ACCEL", args.accel.c_str(), 1);
        if (stress_command->parsed())
            status = stress(args);
        else if (streaming_command->parsed())
            status = streaming(args);
        else if (clones_command->parsed())
            status = clones(args);
        else if (cmdline_command->parsed())
            status = cmdline(args);
        else if (debug_memory_command->parsed())
            status = debug_memory(args);
        else
            status = measure(args);
    } catch (const std::exception& error) {
        fmt::print(stderr, "kmsdk_bench: {}\n", error.what());
        status = 1;
    }
    if (!no_qemu_left())
        status = 1;
    return status;
}
