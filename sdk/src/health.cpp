// SPDX-License-Identifier: GPL-2.0
#include "health.hpp"

#include "text.hpp"

#include <fmt/format.h>

#include <utility>

namespace kmsdk {

bool HealthReport::healthy(std::string_view allowed) const
{
    if (!agent_alive || !problems.empty())
        return false;
    for (char taint : new_taints)
        if (allowed.find(taint) == std::string_view::npos)
            return false;
    return true;
}

std::string HealthReport::describe() const
{
    std::string text;
    if (!agent_alive)
        text += "The guest's agent stopped answering (the kernel may have panicked).\n";
    for (const auto& problem : problems)
        text += problem + "\n";
    if (!new_taints.empty())
        text += fmt::format("New taint flags: {} (now {}).\n", new_taints, taints);
    if (text.empty())
        text = "The guest is healthy.\n";
    return text;
}

namespace detail {

void HealthWatch::baseline(std::uint64_t next_seq, std::uint64_t taint)
{
    next_seq_ = next_seq;
    taint_ = taint;
}

HealthReport HealthWatch::update(const std::vector<KernelLogRecord>& records,
                                 std::uint64_t next_seq, std::uint64_t taint)
{
    HealthReport report;
    report.problems = std::exchange(unreported_, {});
    for (const auto& problem : scan(records))
        report.problems.push_back(describe({problem}));
    report.new_taints = new_taints(taint_, taint);
    report.taints = taint_letters(taint);
    next_seq_ = next_seq;
    taint_ = taint;
    return report;
}

HealthReport HealthWatch::from_console(std::string_view console)
{
    HealthReport report;
    report.agent_alive = false;
    report.problems = std::exchange(unreported_, {});
    for (const auto& problem : scan_console(console))
        report.problems.push_back(describe({problem}));
    return report;
}

void HealthWatch::keep_for_next_report(std::string_view console)
{
    for (const auto& problem : scan_console(console))
        unreported_.push_back(describe({problem}));
}

std::string crash_report(std::string_view console)
{
    auto problems = scan_console(console);
    return fmt::format("{}Console tail:\n{}",
                       problems.empty() ? "" : "The kernel reported:\n" + describe(problems),
                       last_lines(std::string{console}, 30));
}

}  // namespace detail
}  // namespace kmsdk
