// SPDX-License-Identifier: GPL-2.0
#include "cmdline.hpp"

#include "measure.hpp"
#include "process.hpp"
#include "text.hpp"

#include "kmsdk/guest.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <vector>

namespace kmsdk::bench {
namespace {

// What the kernel said of the appended words in one booted guest: unknown
// ones, and for initcall_blacklist= which initcalls it skipped.
void check_words(const std::string& release, const std::string& append, KernelReport& report)
{
    Guest guest{GuestOptions{}.kernel(release).cold().kernel_cmdline(append)};
    auto dmesg = guest.dmesg();
    for (const auto& line : detail::split(dmesg, '\n'))
        if (line.find("Unknown kernel command line parameters") != std::string::npos)
            for (const auto& word : detail::split(append, ' '))
                if (line.find(word) != std::string::npos)
                    report.errors.push_back(fmt::format(
                        "the kernel does not know `{}`: its dmesg says {}", word, line));
    for (const auto& word : detail::split(append, ' ')) {
        constexpr std::string_view blacklist = "initcall_blacklist=";
        if (!word.starts_with(blacklist))
            continue;
        std::vector<std::string> skipped, missed;
        for (const auto& initcall : detail::split(word.substr(blacklist.size()), ','))
            (dmesg.find(fmt::format("initcall {} blacklisted", initcall)) != std::string::npos
                 ? skipped
                 : missed)
                .push_back(initcall);
        report.notes.push_back(fmt::format("initcalls skipped: {}; named but not skipped (not "
                                           "built in, or not reached): {}",
                                           skipped.empty() ? "none" : fmt::format("{}", fmt::join(skipped, " ")),
                                           missed.empty() ? "none" : fmt::format("{}", fmt::join(missed, " "))));
    }
    guest.shutdown();
}

}  // namespace

KernelReport cmdline_on(const Kernel& kernel, const CmdlineConfig& config)
{
    KernelReport report;
    report.release = kernel.release();
    report.title = fmt::format("{}: cold boots with `{}` against without", kernel.release(), config.append);
    report.baseline_heading = "without, median";
    report.ratio_heading = "without/with";
    const auto& release = kernel.release();
    try {
        if (config.append.empty())
            throw std::runtime_error("nothing to compare: give the words to append with --append");
        check_words(release, config.append, report);
        std::vector<double> with_ms, without_ms, with_wall_ms, without_wall_ms;
        unsigned failures = 0;
        auto boot = [&](bool with) {
            try {
                auto c = construct_guest(release, GuestKind{/*cold=*/true, {}, with ? config.append : std::string{}});
                (with ? with_ms : without_ms).push_back(c.to_agent_ms);
                (with ? with_wall_ms : without_wall_ms).push_back(c.wall_ms);
            } catch (const BootError& error) {
                if (failures++ == 0)
                    report.errors.push_back(fmt::format("a cold boot failed: {}", error.what()));
            }
        };
        for (unsigned round = 0; round < config.rounds; ++round) {
            check_interrupted();
            boot(round % 2 == 0);
            boot(round % 2 != 0);
            fmt::print(stderr, "{}: boots {}/{}\n", release, round + 1, config.rounds);
        }
        add_against_without(report, "cmdline_to_agent", "cold: boot until the agent is ready, with them",
                            with_ms, without_ms);
        add_against_without(report, "cmdline_construction", "cold: Guest construction, with them",
                            with_wall_ms, without_wall_ms);
        report.notes.push_back(fmt::format("{} cold boots each way, alternating; failures: {}",
                                           config.rounds, failures));
    } catch (const std::exception& error) {
        report.errors.emplace_back(error.what());
    }
    return report;
}

}  // namespace kmsdk::bench
