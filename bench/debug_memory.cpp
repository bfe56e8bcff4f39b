// SPDX-License-Identifier: GPL-2.0
#include "debug_memory.hpp"

#include "measure.hpp"
#include "process.hpp"
#include "scoped_env.hpp"
#include "temp_dir.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <vector>

namespace kmsdk::bench {
namespace {

using detail::ScopedEnv;

constexpr auto suite_deadline = std::chrono::minutes{5};

// One run of the stacking suite on `release`; its wall time.
double stacking_suite_ms(const std::filesystem::path& build_dir, const std::string& release,
                         const std::filesystem::path& log)
{
    ScopedEnv kernel{"KMSDK_TEST_KERNEL", release.c_str()};
    auto started = Clock::now();
    auto suite = start({(build_dir / "bin" / "guest_stacking").string()}, log, /*own_group=*/true);
    auto status = wait_until(suite, started + suite_deadline);
    auto took = ms_since(started);
    if (!status)
        throw std::runtime_error(fmt::format("the stacking suite did not end within {} minutes",
                                             std::chrono::duration_cast<std::chrono::minutes>(suite_deadline).count()));
    if (*status != 0)
        throw std::runtime_error(fmt::format("the stacking suite {} (its log: {})", describe_wait_status(*status),
                                             log.string()));
    return took;
}

}  // namespace

KernelReport debug_memory_on(const Kernel& kernel, const DebugMemoryConfig& config)
{
    KernelReport report;
    report.release = kernel.release();
    report.title = fmt::format("{}: --debug-memory against without", kernel.release());
    report.baseline_heading = "without, median";
    report.ratio_heading = "without/with";
    const auto& release = kernel.release();
    detail::TempDir work{"kmsdk-bench-debug-memory"};
    try {
        std::vector<double> with_run, without_run, with_suite, without_suite;
        auto warm_run = [&](bool debug) {
            ScopedEnv mode{"KMSDK_DEBUG_MEMORY", debug ? "1" : nullptr};
            auto run = cli_run_true(config.kmsdk_cli, release, work.path(), /*cold=*/false);
            if (!run.ok)
                throw std::runtime_error(run.failure);
            return run.total_ms;
        };
        // Each kind's snapshot made first, outside the samples.
        warm_run(true);
        warm_run(false);
        for (unsigned round = 0; round < config.runs; ++round) {
            check_interrupted();
            (round % 2 ? without_run : with_run).push_back(warm_run(round % 2 == 0));
            (round % 2 ? with_run : without_run).push_back(warm_run(round % 2 != 0));
        }
        fmt::print(stderr, "{}: {} warm runs each way\n", release, config.runs);
        auto suite = [&](bool debug) {
            ScopedEnv mode{"KMSDK_DEBUG_MEMORY", debug ? "1" : nullptr};
            return stacking_suite_ms(config.build_dir, release, work.path() / "stacking.log");
        };
        for (unsigned round = 0; round < config.suite_runs; ++round) {
            check_interrupted();
            bool first = round % 2 == 0;
            (first ? with_suite : without_suite).push_back(suite(first));
            (first ? without_suite : with_suite).push_back(suite(!first));
            fmt::print(stderr, "{}: stacking suite {}/{} each way\n", release, round + 1, config.suite_runs);
        }
        add_against_without(report, "debug_memory_run_true", "warm `kmsdk run -- true`, with --debug-memory",
                            with_run, without_run);
        add_against_without(report, "debug_memory_stacking_suite", "the stacking suite, with --debug-memory",
                            with_suite, without_suite);
        report.notes.push_back(fmt::format("{} warm runs and {} suite runs each way, alternating; the "
                                           "suite's guests restore their snapshots",
                                           config.runs, config.suite_runs));
    } catch (const std::exception& error) {
        report.errors.emplace_back(error.what());
    }
    return report;
}

}  // namespace kmsdk::bench
