// SPDX-License-Identifier: GPL-2.0
#include "stress.hpp"

#include "process.hpp"

#include "kmsdk/guest.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <optional>
#include <regex>
#include <sstream>
#include <unistd.h>

namespace kmsdk::bench {
namespace {

double ms(std::chrono::nanoseconds duration)
{
    return std::chrono::duration<double, std::milli>(duration).count();
}

// Where a slow boot spent its time: before the kernel's clock started
// (QEMU, qboot), or inside the kernel, at the largest gap of its log.
std::string diagnose_slow_boot(Guest& guest, Clock::time_point hello, double to_agent_ms)
{
    auto uptime = guest.run("cat /proc/uptime");
    double since_hello = ms_since(hello);
    std::string text = fmt::format("QEMU start to agent {:.2f} s", to_agent_ms / 1000);
    if (uptime.ok()) {
        double kernel_at_hello = std::stod(uptime.out) * 1000 - since_hello;
        text += fmt::format(", of which {:.2f} s before the kernel's clock started",
                            (to_agent_ms - kernel_at_hello) / 1000);
    }
    static const std::regex stamped{R"(^\[ *([0-9]+\.[0-9]+)\] (.*)$)"};
    std::istringstream lines{guest.dmesg()};
    double previous = -1, gap = -1;
    std::string gap_from, gap_to, previous_line;
    for (std::string line; std::getline(lines, line);) {
        std::smatch match;
        if (!std::regex_match(line, match, stamped))
            continue;
        double at = std::stod(match[1]);
        if (previous >= 0 && at - previous > gap) {
            gap = at - previous;
            gap_from = previous_line;
            gap_to = line;
        }
        previous = at;
        previous_line = line;
    }
    if (gap >= 0)
        text += fmt::format("; largest gap in the kernel log {:.2f} s, between \"{}\" and \"{}\"",
                            gap, gap_from, gap_to);
    return text;
}

}  // namespace

StressReport run_stress(const StressOptions& options)
{
    StressReport report;
    report.kernels = options.kernels;
    report.boots = options.boots;
    report.busy_cpu = options.busy_cpu >= 0
                          ? options.busy_cpu
                          : static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)) - 1;
    auto spinner = busy_loop(report.busy_cpu);

    auto started = Clock::now();
    for (unsigned i = 0; i < options.boots && !interrupted(); ++i) {
        StressBoot boot;
        boot.index = i + 1;
        boot.kernel = options.kernels[i % options.kernels.size()];
        auto boot_started = Clock::now();
        try {
            // Cold, always: restoring a snapshot would skip the boot this measures.
            std::optional<Guest> guest{std::in_place,
                                       GuestOptions{}.kernel(boot.kernel).cold()};
            const auto& stats = guest->boot_stats();
            // The Hello came just before the staging, which ended the construction.
            auto hello = Clock::now() - std::chrono::duration_cast<Clock::duration>(stats.staging);
            boot.attempts = stats.attempts;
            boot.to_agent_ms = ms(stats.to_agent);
            report.to_agent_ms.push_back(boot.to_agent_ms);
            if (stats.attempts > 1) {
                ++report.retried;
                // BootStats does not say why the earlier attempts failed.
                report.failures.push_back(fmt::format("boot {} ({}) came up on attempt {}, {:.1f} s "
                                                      "after its construction began",
                                                      boot.index, boot.kernel, stats.attempts,
                                                      ms_since(boot_started) / 1000));
            }
            auto r = guest->run("true", std::chrono::seconds(30));
            if (!r.ok())
                throw GuestError(fmt::format("`true` exited {}", r.status));
            double diagnosis_ms = 0;
            if (boot.to_agent_ms > options.slow_ms) {
                auto diagnosis_started = Clock::now();
                report.slow_boots.push_back(
                    fmt::format("boot {} ({}): {}", boot.index, boot.kernel,
                                diagnose_slow_boot(*guest, hello, boot.to_agent_ms)));
                diagnosis_ms = ms_since(diagnosis_started);
            }
            guest.reset();
            boot.wall_ms = ms_since(boot_started) - diagnosis_ms;
            boot.ok = true;
            ++report.completed;
            report.wall_ms.push_back(boot.wall_ms);
        } catch (const BootError& error) {
            ++report.failed;
            boot.wall_ms = ms_since(boot_started);
            report.failures.push_back(fmt::format("boot {} ({}): BootError: {}", boot.index,
                                                  boot.kernel, error.what()));
        } catch (const std::exception& error) {
            ++report.other_errors;
            boot.wall_ms = ms_since(boot_started);
            report.failures.push_back(fmt::format("boot {} ({}): {}", boot.index, boot.kernel,
                                                  error.what()));
        }
        report.records.push_back(boot);
        if ((i + 1) % 10 == 0 || i + 1 == options.boots)
            fmt::print(stderr, "stress: {}/{} boots, {} retried, {} failed, {} other errors\n",
                       i + 1, options.boots, report.retried, report.failed, report.other_errors);
        // The spinner must be spinning for the whole run.
        if (auto status = spinner.poll())
            throw std::runtime_error(fmt::format("the busy loop on CPU {} {}", report.busy_cpu,
                                                 describe_wait_status(*status)));
    }
    report.total_s = ms_since(started) / 1000;
    return report;
}

}  // namespace kmsdk::bench
