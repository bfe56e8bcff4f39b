// SPDX-License-Identifier: GPL-2.0
#include "compare.hpp"

#include "measure.hpp"
#include "naive.hpp"
#include "process.hpp"

#include "kmsdk/guest.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

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

Figure& add(KernelReport& report, std::string key, std::string label, Unit unit = Unit::ms)
{
    Figure figure;
    figure.key = std::move(key);
    figure.label = std::move(label);
    figure.unit = unit;
    report.figures.push_back(std::move(figure));
    return report.figures.back();
}

// The boots, kmsdk's and the naive recipe's in turn.
struct BootSamples {
    std::vector<double> naive_true_ms, naive_ready_ms, naive_insmod_ms, naive_before_kernel_ms;
    std::vector<double> cli_ms, cli_ready_ms;
    std::vector<double> construct_ms, to_agent_ms, staging_ms, destroy_ms, before_kernel_ms;
    unsigned naive_failures = 0, cli_failures = 0, boot_failures = 0, retried = 0;
};

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
    auto cli = [&] {
        auto run = cli_run_true(config.kmsdk_cli, release, scratch);
        if (!run.ok) {
            if (samples.cli_failures++ == 0)
                report.errors.push_back("kmsdk run -- true failed: " + run.failure);
            return;
        }
        samples.cli_ms.push_back(run.total_ms);
        if (run.ready_ms)
            samples.cli_ready_ms.push_back(*run.ready_ms);
    };
    auto construct = [&] {
        try {
            auto c = construct_guest(release);
            samples.construct_ms.push_back(c.wall_ms);
            samples.to_agent_ms.push_back(c.to_agent_ms);
            samples.staging_ms.push_back(c.staging_ms);
            samples.destroy_ms.push_back(c.destroy_ms);
            if (c.before_kernel_ms)
                samples.before_kernel_ms.push_back(*c.before_kernel_ms);
            samples.retried += c.attempts > 1;
        } catch (const BootError& error) {
            if (samples.boot_failures++ == 0)
                report.errors.push_back(std::string{"Guest construction: "} + error.what());
        }
    };
    // Alternate who goes first, so neither always follows the other.
    if (round % 2 == 0) {
        naive_true();
        cli();
        naive_insmod();
        construct();
    } else {
        cli();
        naive_true();
        construct();
        naive_insmod();
    }
}

void add_boot_figures(KernelReport& report, const BootSamples& boots)
{
    auto& to_agent = add(report, "boot_to_agent", "boot until the agent is ready (to_agent)");
    to_agent.samples = boots.to_agent_ms;
    to_agent.naive_label = "boot until /init's first line";
    to_agent.naive = boots.naive_ready_ms;
    auto& before = add(report, "before_kernel", "  of which before the kernel's clock started");
    before.samples = boots.before_kernel_ms;
    before.naive_label = "total less the kernel's clock at power-down";
    before.naive = boots.naive_before_kernel_ms;

    auto& construct = add(report, "guest_construction", "Guest construction (boot + staging)");
    construct.samples = boots.construct_ms;
    construct.naive_label = "boot until /init's first line";
    construct.naive = boots.naive_ready_ms;

    auto& cli = add(report, "cli_run_true", "`kmsdk run -- true`, end to end");
    cli.samples = boots.cli_ms;
    cli.naive_label = "boot, true, poweroff";
    cli.naive = boots.naive_true_ms;
    cli.target_ratio = 3;
    add(report, "cli_ready", "  of which until kmsdk printed \"ready\"").samples =
        boots.cli_ready_ms;
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

}  // namespace

KernelReport compare_on(const Kernel& kernel, const BenchConfig& config)
{
    KernelReport report;
    report.release = kernel.release();
    const auto& release = kernel.release();
    BootSamples boots;
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
        // into the page cache.
        fmt::print(stderr, "{}: warming up\n", release);
        (void)naive.boot_true();
        (void)cli_run_true(config.kmsdk_cli, release, scratch.path());
        (void)construct_guest(release);

        for (unsigned round = 0; round < config.runs; ++round) {
            check_interrupted();
            boot_round(round, release, naive, config, scratch.path(), boots, report);
            fmt::print(stderr, "{}: boots {}/{}\n", release, round + 1, config.runs);
        }
        add_boot_figures(report, boots);
        report.notes.push_back(fmt::format(
            "{} rounds of boots; naive recipe failures: {} of {}; kmsdk run failures: {} of {}; "
            "Guest boots that needed a retry: {}, that failed: {}",
            config.runs, boots.naive_failures, 2 * config.runs, boots.cli_failures, config.runs,
            boots.retried, boots.boot_failures));

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

        add(report, "staging", "staging after boot (BootStats::staging)").samples = boots.staging_ms;
        add(report, "guest_destruction", "Guest destruction (kills QEMU)").samples =
            boots.destroy_ms;
    } catch (const std::exception& error) {
        report.errors.push_back(error.what());
        if (report.figures.empty() && !boots.naive_true_ms.empty())
            add_boot_figures(report, boots);
    }
    return report;
}

}  // namespace kmsdk::bench
