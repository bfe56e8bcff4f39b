// SPDX-License-Identifier: GPL-2.0
#include "compare.hpp"

#include "measure.hpp"
#include "measure_part.hpp"
#include "naive.hpp"
#include "process.hpp"
#include "recovery.hpp"
#include "snapshot_making.hpp"

#include "kmsdk/guest.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace kmsdk::bench {
namespace fs = std::filesystem;
namespace {

// The bench's scratch folder for one kernel, removed afterwards.
class ScratchDir {
public:
    ScratchDir()
    {
        auto pattern = (fs::temp_directory_path() / "kmsdk-bench-XXXXXX").string();
        if (!::mkdtemp(pattern.data()))
            throw std::runtime_error(fmt::format("mkdtemp {}: {}; check TMPDIR", pattern,
                                                 std::strerror(errno)));
        path_ = pattern;
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    ~ScratchDir()
    {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// Guest constructions of one kind, cold or warm.
struct ConstructionSamples {
    std::vector<double> wall_ms, to_agent_ms, destroy_ms, before_kernel_ms;
    unsigned failures = 0, retried = 0;
    unsigned not_restored = 0;  // warm ones that booted instead: left out of the figures
};

// `kmsdk run -- true` of one kind, cold or warm.
struct CliSamples {
    std::vector<double> total_ms, ready_ms;
    unsigned failures = 0;
    unsigned not_restored = 0;  // warm ones that booted instead: left out of the figures
};

// The boots, kmsdk's (cold and warm) and the naive recipe's in turn.
struct BootSamples {
    std::vector<double> naive_true_ms, naive_ready_ms, naive_insmod_ms, naive_before_kernel_ms;
    unsigned naive_failures = 0;
    CliSamples cli_cold, cli_warm;
    ConstructionSamples cold, warm;
};

const char* mode(bool cold)
{
    return cold ? "cold" : "warm";
}

void record_naive(const NaiveRun& run, std::vector<double>& total, std::vector<double>* ready,
                  BootSamples& samples, KernelReport& report)
{
    if (!run.ok) {
        if (samples.naive_failures++ == 0)
            report.notes.push_back("first failure of the naive recipe: " + run.failure);
        return;
    }
    total.push_back(run.total_ms);
    if (ready)
        ready->push_back(run.ready_ms);
    if (ready && run.kernel_ms)
        samples.naive_before_kernel_ms.push_back(run.total_ms - *run.kernel_ms);
}

void record_cli(const CliRun& run, bool cold, CliSamples& samples, KernelReport& report)
{
    if (!run.ok) {
        if (samples.failures++ == 0)
            report.errors.push_back(fmt::format("kmsdk run -- true ({}) failed: {}", mode(cold),
                                                run.failure));
        return;
    }
    // A warm run that booted (its snapshot was missing or broken) is not
    // a warm sample.
    if (!cold && !run.restored) {
        ++samples.not_restored;
        return;
    }
    samples.total_ms.push_back(run.total_ms);
    if (run.ready_ms)
        samples.ready_ms.push_back(*run.ready_ms);
}

void record_construction(const std::string& release, bool cold, ConstructionSamples& samples,
                         KernelReport& report)
{
    try {
        auto c = construct_guest(release, GuestKind{cold});
        samples.retried += c.attempts > 1;
        if (!cold && !c.restored) {
            ++samples.not_restored;
            return;
        }
        samples.wall_ms.push_back(c.wall_ms);
        samples.to_agent_ms.push_back(c.to_agent_ms);
        samples.destroy_ms.push_back(c.destroy_ms);
        if (c.before_kernel_ms)
            samples.before_kernel_ms.push_back(*c.before_kernel_ms);
    } catch (const BootError& error) {
        if (samples.failures++ == 0)
            report.errors.push_back(
                fmt::format("Guest construction ({}): {}", mode(cold), error.what()));
    }
}

void boot_round(unsigned round, const std::string& release, NaiveRecipe& naive,
                const BenchConfig& config, const fs::path& scratch, BootSamples& samples,
                KernelReport& report)
{
    auto naive_true = [&] {
        record_naive(naive.boot_true(), samples.naive_true_ms, &samples.naive_ready_ms, samples,
                     report);
    };
    auto naive_insmod = [&] {
        record_naive(naive.boot_insmod_rmmod(), samples.naive_insmod_ms, nullptr, samples, report);
    };
    auto cli = [&](bool cold) {
        record_cli(cli_run_true(config.kmsdk_cli, release, scratch, cold), cold,
                   cold ? samples.cli_cold : samples.cli_warm, report);
    };
    auto construct = [&](bool cold) {
        record_construction(release, cold, cold ? samples.cold : samples.warm, report);
    };
    // Alternate who goes first, so neither always follows the other.
    if (round % 2 == 0) {
        naive_true();
        cli(true);
        cli(false);
        naive_insmod();
        construct(true);
        construct(false);
    } else {
        cli(false);
        cli(true);
        naive_true();
        construct(false);
        construct(true);
        naive_insmod();
    }
}

void add_boot_figures(KernelReport& report, const BootSamples& boots)
{
    auto& to_agent = add(report, "boot_to_agent", "cold: boot until the agent is ready (to_agent)");
    to_agent.samples = boots.cold.to_agent_ms;
    to_agent.naive_label = "boot until /init's first line";
    to_agent.naive = boots.naive_ready_ms;
    auto& before = add(report, "before_kernel", "  of which before the kernel's clock started");
    before.samples = boots.cold.before_kernel_ms;
    before.naive_label = "total less the kernel's clock at power-down";
    before.naive = boots.naive_before_kernel_ms;
    auto& restore = add(report, "restore_to_agent",
                        "warm: restore until the agent is ready (to_agent)");
    restore.samples = boots.warm.to_agent_ms;
    restore.naive_label = "boot until /init's first line";
    restore.naive = boots.naive_ready_ms;

    auto& construct =
        add(report, "guest_construction", "cold: Guest construction (boot + staging)");
    construct.samples = boots.cold.wall_ms;
    construct.naive_label = "boot until /init's first line";
    construct.naive = boots.naive_ready_ms;
    auto& construct_warm = add(report, "guest_construction_warm",
                               "warm: Guest construction (restore + staging)");
    construct_warm.samples = boots.warm.wall_ms;
    construct_warm.naive_label = "boot until /init's first line";
    construct_warm.naive = boots.naive_ready_ms;

    auto& cli = add(report, "cli_run_true", "cold: `kmsdk run -- true`, end to end (KMSDK_COLD=1)");
    cli.samples = boots.cli_cold.total_ms;
    cli.naive_label = "boot, true, poweroff";
    cli.naive = boots.naive_true_ms;
    cli.target_ratio = 3;
    add(report, "cli_ready", "  of which until kmsdk printed \"ready\"").samples =
        boots.cli_cold.ready_ms;
    auto& warm = add(report, "cli_run_true_warm", "warm: `kmsdk run -- true`, end to end");
    warm.samples = boots.cli_warm.total_ms;
    warm.naive_label = "boot, true, poweroff";
    warm.naive = boots.naive_true_ms;
    warm.target = 350;
    warm.target_ratio = 10;
    add(report, "cli_ready_warm", "  of which until kmsdk printed \"ready\"").samples =
        boots.cli_warm.ready_ms;
}

void add_operation_figures(KernelReport& report, const BootSamples& boots,
                           const OperationSamples& ops, const ThroughputSamples& transfers)
{
    auto& rtt = add(report, "run_true", "run(\"true\") round trip");
    rtt.samples = ops.run_true_ms;
    rtt.naive_label = "a boot per command";
    rtt.naive = boots.naive_true_ms;
    rtt.target = 10;
    add(report, "run_true_guest", "  of which in the guest (fork, exec, wait)").samples =
        ops.run_true_guest_ms;

    auto& cycle = add(report, "cycle", "insmod+rmmod kms_hello (Guest::insmod/rmmod)");
    cycle.samples = ops.cycle_ms;
    cycle.naive_label = "boot, insmod, rmmod, poweroff";
    cycle.naive = boots.naive_insmod_ms;
    cycle.target = 25;
    add(report, "cycle_guest", "  of which in the guest (finit_module, delete_module)").samples =
        ops.cycle_guest_ms;

    auto& shell = add(report, "cycle_busybox", "same via run(\"insmod …; rmmod …\")");
    shell.samples = ops.shell_cycle_ms;
    shell.naive_label = "boot, insmod, rmmod, poweroff";
    shell.naive = boots.naive_insmod_ms;
    add(report, "cycle_busybox_guest", "  of which in the guest").samples = ops.shell_cycle_guest_ms;

    auto& to_guest = add(report, "write_1mib", "Guest::write 1 MiB (host → guest)", Unit::mb_per_s);
    to_guest.samples = transfers.to_guest_mb_s;
    to_guest.target = 10;
    auto& from_guest = add(report, "read_1mib", "Guest::read 1 MiB (guest → host)", Unit::mb_per_s);
    from_guest.samples = transfers.from_guest_mb_s;
    from_guest.target = 10;
}

const Figure* find_figure(const KernelReport& report, std::string_view key)
{
    for (const auto& figure : report.figures)
        if (figure.key == key && !figure.samples.empty())
            return &figure;
    return nullptr;
}

// Cold median over warm median, when both were measured.
void add_cold_over_warm(KernelReport& report, std::string key, std::string label,
                        std::string_view cold_key, std::string_view warm_key)
{
    auto* cold = find_figure(report, cold_key);
    auto* warm = find_figure(report, warm_key);
    if (!cold || !warm)
        return;
    double warm_median = summarize(warm->samples).median;
    if (warm_median > 0)
        report.cold_over_warm.push_back(
            {std::move(key), std::move(label), summarize(cold->samples).median / warm_median});
}

void add_recovery_figures(KernelReport& report, const RecoverySamples& samples, bool cold,
                          const RecoverySamples* unstaged = nullptr)
{
    std::string suffix = cold ? "_cold" : "";
    auto& total = add(report, "oops_recovery" + suffix,
                      fmt::format("{}: recovery after an Oops (fault, detect, healthy again)",
                                  mode(cold)));
    total.samples = samples.total_ms;
    if (unstaged) {
        total.target = 200;
        total.naive_label = "the same, staged snapshots off: restore, then stage again";
        total.naive = unstaged->total_ms;
    }
    add(report, "oops_recovery_detect" + suffix,
        "  of which the write that Oopses and check_healthy() throwing")
        .samples = samples.detect_ms;
    add(report, "oops_recovery_back" + suffix,
        fmt::format("  of which back to healthy: {}, staging, run(\"true\"), health()",
                    cold ? "boot" : "restore"))
        .samples = samples.back_ms;
    // A guest given nothing to stage skips the boot pass (staging 0): the
    // recovery guests, staged with kms_fault_oops, show what staging costs.
    add(report, cold ? "staging" : "staging_warm",
        fmt::format("    of which staging one module after {} (BootStats::staging)",
                    cold ? "boot" : "restore"))
        .samples = samples.staging_ms;
}

}  // namespace

KernelReport compare_on(const Kernel& kernel, const BenchConfig& config)
{
    KernelReport report;
    report.release = kernel.release();
    const auto& release = kernel.release();
    BootSamples boots;
    bool booted = false;
    try {
        auto hello_ko = config.modules_dir / release / "kms_hello.ko";
        if (!fs::exists(hello_ko))
            throw std::runtime_error(fmt::format("{} was not built: build the project first "
                                                 "(cmake --build --preset default)",
                                                 hello_ko.string()));
        ScratchDir scratch;
        NaiveRecipe naive{kernel, scratch.path(), hello_ko, config.accel};
        report.notes.push_back(fmt::format("naive recipe: {}", fmt::join(naive.command_true(), " ")));

        // Once each, unrecorded: the base initramfs gets cached, files get
        // into the page cache, and the warm guests' snapshot gets made if
        // there is none yet.
        fmt::print(stderr, "{}: warming up\n", release);
        (void)naive.boot_true();
        (void)cli_run_true(config.kmsdk_cli, release, scratch.path(), /*cold=*/true);
        (void)construct_guest(release, GuestKind{/*cold=*/true});
        auto made = construct_guest(release, GuestKind{/*cold=*/false});
        if (made.snapshot_save_ms > 0)
            report.notes.push_back(fmt::format(
                "the warm-up made this machine's snapshot (saved in {})",
                format_value(made.snapshot_save_ms, Unit::ms)));
        (void)cli_run_true(config.kmsdk_cli, release, scratch.path(), /*cold=*/false);

        for (unsigned round = 0; round < config.runs; ++round) {
            check_interrupted();
            boot_round(round, release, naive, config, scratch.path(), boots, report);
            fmt::print(stderr, "{}: boots {}/{}\n", release, round + 1, config.runs);
        }
        add_boot_figures(report, boots);
        booted = true;
        report.notes.push_back(fmt::format(
            "{} rounds of boots; naive recipe failures: {} of {}; kmsdk run failures: cold {} of "
            "{}, warm {} of {}; Guest boots that needed a retry: cold {}, warm {}; that failed: "
            "cold {}, warm {}",
            config.runs, boots.naive_failures, 2 * config.runs, boots.cli_cold.failures,
            config.runs, boots.cli_warm.failures, config.runs, boots.cold.retried,
            boots.warm.retried, boots.cold.failures, boots.warm.failures));
        report.notes.push_back(fmt::format(
            "warm samples that booted instead of restoring (left out of the warm figures): "
            "kmsdk run {} of {}, Guest construction {} of {}",
            boots.cli_warm.not_restored, config.runs, boots.warm.not_restored, config.runs));

        fmt::print(stderr, "{}: {} round trips and cycles in one guest\n", release, config.ops);
        Guest guest{GuestOptions{}.kernel(release).module(hello_ko)};
        auto ops = measure_operations(guest, "kms_hello", config.ops);
        auto transfers = measure_throughput(guest, config.runs * 2, config.transfer_bytes);
        auto health = guest.health();
        if (!health.healthy())
            report.errors.push_back("the guest is not healthy after the measurements:\n" +
                                    health.describe());
        guest.shutdown();
        add_operation_figures(report, boots, ops, transfers);
        report.notes.push_back(fmt::format("{} round trips and cycles in one guest; {} transfers "
                                           "of {} random bytes each way, read back identical",
                                           config.ops, config.runs * 2, config.transfer_bytes));
    } catch (const std::exception& error) {
        report.errors.emplace_back(error.what());
        if (!booted && !boots.naive_true_ms.empty())
            add_boot_figures(report, boots);
    }

    measure_part(report, "recovery after an Oops", [&] {
        auto oops_ko = config.modules_dir / release / "kms_fault_oops.ko";
        if (!fs::exists(oops_ko))
            throw std::runtime_error(fmt::format(
                "{} was not built: build the project with its tests (KMSDK_BUILD_TESTS=ON, "
                "cmake --build --preset default)",
                oops_ko.string()));
        fmt::print(stderr, "{}: {} recoveries after an Oops, warm then cold\n", release,
                   config.runs);
        auto warm = measure_oops_recovery(release, oops_ko, config.runs, /*cold=*/false);
        auto unstaged = measure_oops_recovery(release, oops_ko, config.runs, /*cold=*/false,
                                              /*staged_snapshots=*/false);
        add_recovery_figures(report, warm, /*cold=*/false, &unstaged);
        auto cold = measure_oops_recovery(release, oops_ko, config.runs, /*cold=*/true);
        add_recovery_figures(report, cold, /*cold=*/true);
        report.notes.push_back(fmt::format(
            "{} recoveries after an Oops each way, one guest each; warm recoveries that booted "
            "instead of restoring: {}, that staged again instead of restoring the staged "
            "snapshot: {}",
            config.runs, warm.not_restored + unstaged.not_restored, warm.not_staged));
    });

    measure_part(report, "staged snapshots", [&] {
        auto hello_ko = config.modules_dir / release / "kms_hello.ko";
        fmt::print(stderr, "{}: {} warm guests with kms_hello staged, staged snapshots on and off\n",
                   release, config.runs);
        ConstructionSamples staged, unstaged;
        auto construct = [&](bool with_staged_snapshots) {
            std::optional<ScopedEnv> off;
            if (!with_staged_snapshots)
                off.emplace("KMSDK_STAGED_SNAPSHOT_LIMIT", "0");
            auto& into = with_staged_snapshots ? staged : unstaged;
            auto c = construct_guest(release, GuestKind{/*cold=*/false, hello_ko});
            if (!c.restored || (with_staged_snapshots && !c.staged)) {
                ++into.not_restored;
                return;
            }
            into.wall_ms.push_back(c.wall_ms);
        };
        construct(true);  // makes the staged snapshot, if missing: not a sample
        staged = {};
        for (unsigned round = 0; round < config.runs; ++round) {
            check_interrupted();
            construct(round % 2 == 0);
            construct(round % 2 != 0);
        }
        auto& figure = add(report, "guest_construction_staged",
                           "warm: Guest construction, kms_hello staged (staged snapshot)");
        figure.samples = staged.wall_ms;
        figure.target = 120;
        figure.naive_label = "the same, staged snapshots off: restore, then stage";
        figure.naive = unstaged.wall_ms;
        report.notes.push_back(fmt::format(
            "{} warm Guest constructions with kms_hello staged each way; left out as they did not "
            "restore as meant: {} with staged snapshots, {} without",
            config.runs, staged.not_restored, unstaged.not_restored));
    });

    measure_part(report, "making a snapshot", [&] {
        fmt::print(stderr, "{}: {} guests that each make a snapshot\n", release, config.snapshots);
        auto making = measure_snapshot_making(release, config.snapshots);
        add(report, "snapshot_save", "making the snapshot (BootStats::snapshot_save)").samples =
            making.save_ms;
        add(report, "snapshot_disk", "the snapshot on disk (device state + sparse RAM file)",
            Unit::mb).samples = making.disk_mb;
        add(report, "snapshot_stream", "  of which the device state (.snap)", Unit::mb).samples =
            making.stream_mb;
        add(report, "snapshot_first_guest",
            "Guest construction that makes it (cold boot + save + staging)")
            .samples = making.construct_ms;
        for (const auto& problem : making.problems)
            report.errors.push_back("making a snapshot: " + problem);
    });

    add(report, "guest_destruction", "cold: Guest destruction (kills QEMU)").samples =
        boots.cold.destroy_ms;
    add(report, "guest_destruction_warm", "warm: Guest destruction (kills QEMU)").samples =
        boots.warm.destroy_ms;

    add_cold_over_warm(report, "to_agent_cold_over_warm", "to the agent's Hello", "boot_to_agent",
                       "restore_to_agent");
    add_cold_over_warm(report, "construction_cold_over_warm", "Guest construction",
                       "guest_construction", "guest_construction_warm");
    add_cold_over_warm(report, "cli_run_true_cold_over_warm", "`kmsdk run -- true`",
                       "cli_run_true", "cli_run_true_warm");
    add_cold_over_warm(report, "oops_recovery_cold_over_warm", "recovery after an Oops",
                       "oops_recovery_cold", "oops_recovery");
    return report;
}

}  // namespace kmsdk::bench
