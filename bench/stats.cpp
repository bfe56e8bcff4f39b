// SPDX-License-Identifier: GPL-2.0
#include "stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace kmsdk::bench {
namespace {

double percentile(const std::vector<double>& sorted, double fraction)
{
    double rank = fraction * static_cast<double>(sorted.size() - 1);
    auto below = static_cast<std::size_t>(std::floor(rank));
    auto above = std::min(below + 1, sorted.size() - 1);
    double weight = rank - static_cast<double>(below);
    return sorted[below] + (sorted[above] - sorted[below]) * weight;
}

// A Markdown table with its columns padded, readable as text too.
void print_table(const std::vector<std::vector<std::string>>& rows)
{
    std::vector<std::size_t> widths;
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) {
            // Count code points, not bytes: "≤" and "–" are one column each.
            std::size_t width = 0;
            for (unsigned char c : row[i])
                width += (c & 0xc0) != 0x80;
            if (widths.size() <= i)
                widths.push_back(0);
            widths[i] = std::max(widths[i], width);
        }
    auto print_row = [&](const std::vector<std::string>& row) {
        std::string line = "|";
        for (std::size_t i = 0; i < widths.size(); ++i) {
            std::string cell = i < row.size() ? row[i] : "";
            std::size_t width = 0;
            for (unsigned char c : cell)
                width += (c & 0xc0) != 0x80;
            line += " " + cell + std::string(widths[i] - width, ' ') + " |";
        }
        fmt::print("{}\n", line);
    };
    print_row(rows.front());
    std::string rule = "|";
    for (auto width : widths)
        rule += std::string(width + 2, '-') + "|";
    fmt::print("{}\n", rule);
    for (std::size_t i = 1; i < rows.size(); ++i)
        print_row(rows[i]);
}

std::string json_string(std::string_view text)
{
    std::string out = "\"";
    for (char c : text) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20)
                out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
            else
                out += c;
        }
    }
    return out + "\"";
}

std::string json_number(double value)
{
    if (!std::isfinite(value))
        return "null";
    return fmt::format("{:.4f}", value);
}

std::string json_summary(const std::vector<double>& samples)
{
    if (samples.empty())
        return "null";
    auto s = summarize(samples);
    return fmt::format(R"({{"n": {}, "median": {}, "p10": {}, "p90": {}, "min": {}, "max": {}}})",
                       s.n, json_number(s.median), json_number(s.p10), json_number(s.p90),
                       json_number(s.min), json_number(s.max));
}

std::string json_strings(const std::vector<std::string>& items)
{
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i)
        out += (i ? ", " : "") + json_string(items[i]);
    return out + "]";
}

const char* unit_name(Unit unit)
{
    switch (unit) {
    case Unit::ms: return "ms";
    case Unit::mb_per_s: return "MB/s";
    case Unit::mb: return "MB";
    }
    return "?";
}

// Times and sizes are better small, throughput large.
bool lower_is_better(Unit unit)
{
    return unit != Unit::mb_per_s;
}

std::string target_text(const Figure& figure)
{
    std::string text;
    if (figure.target)
        text = fmt::format("{} {}", lower_is_better(figure.unit) ? "≤" : "≥",
                           format_value(*figure.target, figure.unit));
    if (figure.target_ratio)
        text += fmt::format("{}naive/kmsdk ≥ {:g}×", text.empty() ? "" : ", ", *figure.target_ratio);
    if (auto met = figure.met())
        text += *met ? ": met" : ": MISSED";
    return text;
}

}  // namespace

Summary summarize(std::vector<double> samples)
{
    if (samples.empty())
        throw std::invalid_argument("no samples to summarize");
    std::sort(samples.begin(), samples.end());
    return {samples.size(),        percentile(samples, 0.5), percentile(samples, 0.1),
            percentile(samples, 0.9), samples.front(),        samples.back()};
}

std::optional<double> Figure::ratio() const
{
    if (samples.empty() || naive.empty())
        return std::nullopt;
    double mine = summarize(samples).median;
    double theirs = summarize(naive).median;
    if (lower_is_better(unit))
        return mine > 0 ? std::optional{theirs / mine} : std::nullopt;
    return theirs > 0 ? std::optional{mine / theirs} : std::nullopt;
}

std::optional<bool> Figure::met() const
{
    if (samples.empty() || (!target && !target_ratio))
        return std::nullopt;
    bool ok = true;
    if (target) {
        double median = summarize(samples).median;
        ok = lower_is_better(unit) ? median <= *target : median >= *target;
    }
    if (target_ratio) {
        auto r = ratio();
        ok = ok && r && *r >= *target_ratio;
    }
    return ok;
}

Figure& add(KernelReport& report, std::string key, std::string label, Unit unit)
{
    Figure figure;
    figure.key = std::move(key);
    figure.label = std::move(label);
    figure.unit = unit;
    report.figures.push_back(std::move(figure));
    return report.figures.back();
}

void add_against_without(KernelReport& report, std::string key, std::string label, std::vector<double> samples,
                         std::vector<double> without)
{
    auto& figure = add(report, std::move(key), std::move(label));
    figure.samples = std::move(samples);
    figure.naive_label = "the same without";
    figure.naive = std::move(without);
}

std::string format_value(double value, Unit unit)
{
    if (unit == Unit::mb_per_s)
        return fmt::format("{:.1f} MB/s", value);
    if (unit == Unit::mb)
        return fmt::format("{:.1f} MB", value);
    if (value >= 1000)
        return fmt::format("{:.2f} s", value / 1000);
    if (value >= 100)
        return fmt::format("{:.0f} ms", value);
    if (value >= 10)
        return fmt::format("{:.1f} ms", value);
    return fmt::format("{:.2f} ms", value);
}

void print_environment(const Environment& e)
{
    fmt::print("kmsdk_bench, {}\n", e.date);
    fmt::print("host: {} CPUs ({}), Linux {}, {}, accel {}, {} build\n", e.cpus, e.cpu_model,
               e.host_kernel, e.qemu_version, e.accel, e.build_type);
    fmt::print("load average at start: {}\n", e.load_before);
    if (!e.load_after.empty())
        fmt::print("load average at end:   {}\n", e.load_after);
}

void print_kernel_report(const KernelReport& report)
{
    fmt::print("\n## {}\n\n", report.title.empty() ? report.release : report.title);
    std::vector<std::vector<std::string>> rows = {{"figure", "n", "median", "p10 – p90",
                                                   report.baseline_heading, report.ratio_heading,
                                                   "target"}};
    for (const auto& figure : report.figures) {
        if (figure.samples.empty())
            continue;
        auto s = summarize(figure.samples);
        std::string naive;
        if (!figure.naive.empty())
            naive = fmt::format("{} ({})", format_value(summarize(figure.naive).median, figure.unit),
                                figure.naive_label);
        auto ratio = figure.ratio();
        rows.push_back({figure.label, std::to_string(s.n), format_value(s.median, figure.unit),
                        fmt::format("{} – {}", format_value(s.p10, figure.unit),
                                    format_value(s.p90, figure.unit)),
                        naive, ratio ? fmt::format("{:.1f}×", *ratio) : "", target_text(figure)});
    }
    print_table(rows);
    if (!report.cold_over_warm.empty()) {
        std::vector<std::string> ratios;
        for (const auto& ratio : report.cold_over_warm)
            ratios.push_back(fmt::format("{} {:.1f}×", ratio.label, ratio.value));
        fmt::print("- cold/warm (median over median): {}\n", fmt::join(ratios, "; "));
    }
    for (const auto& note : report.notes)
        fmt::print("- {}\n", note);
    for (const auto& error : report.errors)
        fmt::print("- ERROR: {}\n", error);
}

void print_suite_report(const SuiteReport& report)
{
    fmt::print("\n## Guest suites, {}: {}\n\n", report.mode, report.command);
    if (!report.error.empty())
        fmt::print("ERROR: {}\n", report.error);
    if (!report.ran)
        return;
    double sum = 0;
    unsigned failed = 0;
    for (const auto& test : report.tests) {
        fmt::print("- {}: {} in {:.2f} s\n", test.name, test.passed ? "passed" : "FAILED",
                   test.seconds);
        sum += test.seconds;
        failed += !test.passed;
    }
    fmt::print("wall time {:.2f} s for {} suites ({} failed; ctest exit status {}); sum of the "
               "suites' own times {:.2f} s\n",
               report.wall_ms / 1000, report.tests.size(), failed, report.exit_status, sum);
    for (const auto& process : report.leaked)
        fmt::print("ERROR: still running after ctest ended (killed): {}\n", process);
}

std::optional<double> suite_cold_over_warm(const std::vector<SuiteReport>& suites)
{
    const SuiteReport* warm = nullptr;
    const SuiteReport* cold = nullptr;
    for (const auto& suite : suites)
        (suite.mode == "cold" ? cold : warm) = &suite;
    if (!warm || !cold || !warm->ran || !cold->ran || warm->wall_ms <= 0)
        return std::nullopt;
    return cold->wall_ms / warm->wall_ms;
}

void print_suite_ratio(const std::vector<SuiteReport>& suites)
{
    if (auto ratio = suite_cold_over_warm(suites))
        fmt::print("\nguest suites, wall time cold/warm: {:.2f}×\n", *ratio);
}

void print_stress_report(const StressReport& r)
{
    fmt::print("\n## Stress: {} consecutive boots on {}, CPU {} kept busy\n\n", r.boots,
               fmt::join(r.kernels, " and "), r.busy_cpu);
    fmt::print("- came up and ran `true`: {}\n", r.completed);
    fmt::print("- needed a retry (BootStats::attempts > 1): {}\n", r.retried);
    fmt::print("- failed every attempt (BootError, unrecovered): {}\n", r.failed);
    fmt::print("- failed otherwise after booting: {}\n", r.other_errors);
    if (!r.to_agent_ms.empty()) {
        auto s = summarize(r.to_agent_ms);
        fmt::print("- QEMU start to agent ready: median {}, p90 {}, max {}\n",
                   format_value(s.median, Unit::ms), format_value(s.p90, Unit::ms),
                   format_value(s.max, Unit::ms));
    }
    if (!r.wall_ms.empty()) {
        auto s = summarize(r.wall_ms);
        fmt::print("- per boot (construct, `true`, destroy): median {}, max {}\n",
                   format_value(s.median, Unit::ms), format_value(s.max, Unit::ms));
    }
    fmt::print("- total {:.0f} s\n", r.total_s);
    for (const auto& failure : r.failures)
        fmt::print("- {}\n", failure);
    for (const auto& slow : r.slow_boots)
        fmt::print("- slow: {}\n", slow);
}

std::string to_json(const Environment& e, const std::vector<KernelReport>& kernels,
                    const std::vector<SuiteReport>& suites, const StressReport* stress)
{
    std::string out = "{\n";
    out += fmt::format(
        R"(  "environment": {{"date": {}, "host_kernel": {}, "cpu_model": {}, "cpus": {}, )"
        R"("qemu": {}, "accel": {}, "load_before": {}, "load_after": {}, "build_type": {}, )"
        R"("runs": {}, "ops": {}}})",
        json_string(e.date), json_string(e.host_kernel), json_string(e.cpu_model), e.cpus,
        json_string(e.qemu_version), json_string(e.accel), json_string(e.load_before),
        json_string(e.load_after), json_string(e.build_type), e.runs, e.ops);
    out += ",\n  \"kernels\": [";
    for (std::size_t k = 0; k < kernels.size(); ++k) {
        const auto& report = kernels[k];
        out += fmt::format("{}\n    {{\"release\": {}, \"figures\": [", k ? "," : "",
                           json_string(report.release));
        for (std::size_t i = 0; i < report.figures.size(); ++i) {
            const auto& f = report.figures[i];
            auto ratio = f.ratio();
            auto met = f.met();
            out += fmt::format(
                "{}\n      {{\"key\": {}, \"label\": {}, \"unit\": {}, \"kmsdk\": {}, "
                "\"naive_label\": {}, \"naive\": {}, \"ratio\": {}, \"target\": {}, "
                "\"target_ratio\": {}, \"met\": {}}}",
                i ? "," : "", json_string(f.key), json_string(f.label),
                json_string(unit_name(f.unit)), json_summary(f.samples),
                json_string(f.naive_label), json_summary(f.naive),
                ratio ? json_number(*ratio) : "null", f.target ? json_number(*f.target) : "null",
                f.target_ratio ? json_number(*f.target_ratio) : "null",
                met ? (*met ? "true" : "false") : "null");
        }
        out += "\n    ], \"cold_over_warm\": [";
        for (std::size_t i = 0; i < report.cold_over_warm.size(); ++i) {
            const auto& ratio = report.cold_over_warm[i];
            out += fmt::format("{}{{\"key\": {}, \"label\": {}, \"value\": {}}}", i ? ", " : "",
                               json_string(ratio.key), json_string(ratio.label),
                               json_number(ratio.value));
        }
        out += fmt::format("], \"notes\": {}, \"errors\": {}}}", json_strings(report.notes),
                           json_strings(report.errors));
    }
    out += "\n  ]";
    if (!suites.empty()) {
        out += ",\n  \"suites\": [";
        for (std::size_t s = 0; s < suites.size(); ++s) {
            const auto* suite = &suites[s];
            out += fmt::format("{}\n    {{\"mode\": {}, \"ran\": {}, \"command\": {}, "
                               "\"wall_ms\": {}, \"exit_status\": {}, \"error\": {}, "
                               "\"leaked\": {}, \"tests\": [",
                               s ? "," : "", json_string(suite->mode),
                               suite->ran ? "true" : "false", json_string(suite->command),
                               json_number(suite->wall_ms), suite->exit_status,
                               json_string(suite->error), json_strings(suite->leaked));
            for (std::size_t i = 0; i < suite->tests.size(); ++i)
                out += fmt::format("{}{{\"name\": {}, \"passed\": {}, \"seconds\": {}}}",
                                   i ? ", " : "", json_string(suite->tests[i].name),
                                   suite->tests[i].passed ? "true" : "false",
                                   json_number(suite->tests[i].seconds));
            out += "]}";
        }
        auto ratio = suite_cold_over_warm(suites);
        out += fmt::format("\n  ],\n  \"suite_cold_over_warm\": {}",
                           ratio ? json_number(*ratio) : "null");
    }
    if (stress) {
        out += fmt::format(
            ",\n  \"stress\": {{\"kernels\": {}, \"busy_cpu\": {}, \"boots\": {}, "
            "\"completed\": {}, \"retried\": {}, \"failed\": {}, \"other_errors\": {}, "
            "\"to_agent_ms\": {}, \"wall_ms\": {}, \"total_s\": {}, \"failures\": {}, "
            "\"slow_boots\": {}, \"records\": [",
            json_strings(stress->kernels), stress->busy_cpu, stress->boots, stress->completed,
            stress->retried, stress->failed, stress->other_errors, json_summary(stress->to_agent_ms),
            json_summary(stress->wall_ms), json_number(stress->total_s),
            json_strings(stress->failures), json_strings(stress->slow_boots));
        for (std::size_t i = 0; i < stress->records.size(); ++i) {
            const auto& b = stress->records[i];
            out += fmt::format("{}\n    {{\"index\": {}, \"kernel\": {}, \"attempts\": {}, "
                               "\"to_agent_ms\": {}, \"wall_ms\": {}, \"ok\": {}}}",
                               i ? "," : "", b.index, json_string(b.kernel), b.attempts,
                               json_number(b.to_agent_ms), json_number(b.wall_ms),
                               b.ok ? "true" : "false");
        }
        out += "\n  ]}";
    }
    return out + "\n}\n";
}

}  // namespace kmsdk::bench
