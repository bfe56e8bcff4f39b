// SPDX-License-Identifier: GPL-2.0
#include "suite.hpp"

#include "process.hpp"

#include "kmsdk/cache.hpp"

#include <fmt/format.h>

#include <regex>
#include <sstream>

#include <sys/wait.h>

namespace kmsdk::bench {

SuiteReport run_guest_suites(const std::filesystem::path& build_dir, unsigned jobs,
                             const std::filesystem::path& log, unsigned deadline_s, bool cold)
{
    SuiteReport report;
    report.mode = cold ? "cold" : "warm";
    std::vector<std::string> argv = {"ctest", "--test-dir", build_dir.string(), "-L", "guest",
                                     "-LE",   "cold",       fmt::format("-j{}", jobs)};
    report.command = fmt::format("{}{}", cold ? "KMSDK_COLD=1 " : "", fmt::join(argv, " "));
    // ctest and every suite under it inherit this.
    ScopedEnv mode{"KMSDK_COLD", cold ? "1" : nullptr};
    // The suites run as under a plain `ctest`: what they orphan goes to
    // init, not to the bench (some suites kill guests' parents on purpose,
    // and check that the QEMU is gone).
    become_subreaper(false);
    auto started = Clock::now();
    auto ctest = start(argv, log, /*own_group=*/true);
    auto status = wait_until(ctest, started + std::chrono::seconds(deadline_s));
    report.wall_ms = ms_since(started);
    become_subreaper(true);
    // ctest leads a process group, and so far the suites and their QEMUs
    // stay in it: anything of it still alive once ctest is done leaked.
    if (status)
        for (const auto& process : processes_in_group(ctest.pid()))
            report.leaked.push_back(process);
    ctest.kill();  // the whole group
    if (!status) {
        report.error = interrupted() ? std::string{"interrupted"}
                                     : fmt::format("ctest did not finish within {} s; killed (see {})",
                                                   deadline_s, log.string());
        return report;
    }
    report.ran = true;
    report.exit_status = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;

    // "1/6 Test #47: guest_hello_6.12 .........   Passed   12.34 sec"
    static const std::regex line{R"(Test +#[0-9]+: (\S+) .*?([0-9.]+) sec)"};
    std::istringstream lines{read_file(log)};
    for (std::string text; std::getline(lines, text);) {
        std::smatch match;
        if (std::regex_search(text, match, line))
            report.tests.push_back({match[1], text.find("Passed") != std::string::npos,
                                    std::stod(match[2])});
    }
    if (report.tests.empty())
        report.error = fmt::format("ctest ran no guest suite (see {})", log.string());
    return report;
}

}  // namespace kmsdk::bench
