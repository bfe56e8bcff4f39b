// SPDX-License-Identifier: GPL-2.0
//
// Samples, their summary (median, p10, p90, min, max) and how the bench
// reports them: a Markdown table on stdout, and optionally JSON.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace kmsdk::bench {

struct Summary {
    std::size_t n = 0;
    double median = 0, p10 = 0, p90 = 0, min = 0, max = 0;
};

// Percentiles by linear interpolation between the nearest ranks.
// Throws on an empty set.
Summary summarize(std::vector<double> samples);

// mb: a size, 10^6 bytes (a snapshot file).
enum class Unit { ms, mb_per_s, mb };

// One measured figure: kmsdk's samples and, when there is one, the naive
// recipe's equivalent measured in the same invocation.
struct Figure {
    std::string key;    // stable name for JSON, e.g. "cli_run_true"
    std::string label;  // what the table says
    Unit unit = Unit::ms;
    std::vector<double> samples;
    std::string naive_label;  // empty: no naive equivalent
    std::vector<double> naive;
    // A target on the median: at most this (times, sizes) or at least (throughput).
    std::optional<double> target;
    // The ratio naive/kmsdk must reach at least this (the headline).
    std::optional<double> target_ratio;

    // How many times better kmsdk's median is than the baseline's, when
    // both exist: naive / kmsdk for times and sizes, kmsdk / naive for
    // throughput (so above 1 always means kmsdk is ahead).
    std::optional<double> ratio() const;
    // nullopt when there is no target.
    std::optional<bool> met() const;
};

// One median over another, both kmsdk's: cold over warm.
struct Ratio {
    std::string key;    // e.g. "cli_run_true_cold_over_warm"
    std::string label;  // what is compared, e.g. "`kmsdk run -- true`"
    double value = 0;
};

struct KernelReport {
    std::string release;
    // How the table is headed: a part whose baseline is not the naive
    // recipe (streaming: the library's older calls) says so.
    std::string title;                           // empty: the release
    std::string baseline_heading = "naive recipe, median";
    std::string ratio_heading = "naive/kmsdk";
    std::vector<Figure> figures;
    std::vector<Ratio> cold_over_warm;
    std::vector<std::string> notes;   // counts, failures of the naive recipe
    std::vector<std::string> errors;  // what stopped a measurement
};

struct SuiteTest {
    std::string name;
    bool passed = false;
    double seconds = 0;
};

struct SuiteReport {
    std::string mode;  // "warm" or "cold": how the guests started
    bool ran = false;
    std::string command;
    double wall_ms = 0;
    int exit_status = -1;
    std::vector<SuiteTest> tests;
    std::vector<std::string> leaked;  // processes of ctest's group alive after it
    std::string error;
};

struct StressBoot {
    unsigned index = 0;  // 1-based
    std::string kernel;
    unsigned attempts = 0;    // 0: BootError
    double to_agent_ms = 0;   // of the attempt that came up
    double wall_ms = 0;       // construction, `true`, destruction
    bool ok = false;
};

struct StressReport {
    std::vector<std::string> kernels;
    int busy_cpu = -1;
    unsigned boots = 0;          // asked for
    unsigned completed = 0;      // guests that came up and answered `true`
    unsigned retried = 0;        // came up, but needed more than one attempt
    unsigned failed = 0;         // BootError: every attempt failed
    unsigned other_errors = 0;   // came up, then failed otherwise
    std::vector<double> to_agent_ms;  // per successful boot
    std::vector<double> wall_ms;      // construction + true + destruction
    std::vector<StressBoot> records;
    std::vector<std::string> failures;   // retries, errors
    std::vector<std::string> slow_boots; // what the kernel log says of the slowest
    double total_s = 0;
};

struct Environment {
    std::string date;  // UTC, ISO 8601
    std::string host_kernel;
    std::string cpu_model;
    unsigned cpus = 0;
    std::string qemu_version;
    std::string accel;
    std::string load_before;
    std::string load_after;
    std::string build_type;
    unsigned runs = 0;
    unsigned ops = 0;
};

// "1.62 s", "4.31 ms", "17.2 MB/s".
// A new figure at the end of the report, to fill in.
Figure& add(KernelReport& report, std::string key, std::string label, Unit unit = Unit::ms);
// An A/B figure in milliseconds: `samples` with the thing under test,
// against "the same without" it, measured in the same invocation.
void add_against_without(KernelReport& report, std::string key, std::string label, std::vector<double> samples,
                         std::vector<double> without);

std::string format_value(double value, Unit unit);

void print_environment(const Environment& environment);
void print_kernel_report(const KernelReport& report);
void print_suite_report(const SuiteReport& report);
// The wall time of the cold run over the warm run's, when both ran.
std::optional<double> suite_cold_over_warm(const std::vector<SuiteReport>& suites);
void print_suite_ratio(const std::vector<SuiteReport>& suites);
void print_stress_report(const StressReport& report);

// Everything as one JSON document.
std::string to_json(const Environment& environment, const std::vector<KernelReport>& kernels,
                    const std::vector<SuiteReport>& suites, const StressReport* stress);

}  // namespace kmsdk::bench
