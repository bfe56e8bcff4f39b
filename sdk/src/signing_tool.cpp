// SPDX-License-Identifier: GPL-2.0
#include "signing_tool.hpp"

#include "child_process.hpp"
#include "temp_dir.hpp"

#include "kmsdk/cache.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include <sys/wait.h>

namespace kmsdk::detail {
namespace {

// What the tool printed, on one line, short enough for an error message:
// its last lines are where openssl and sign-file say what went wrong.
std::string printed(const std::filesystem::path& log)
{
    std::string text = read_file(log);
    constexpr std::size_t keep = 600;
    if (text.size() > keep)
        text = "..." + text.substr(text.size() - keep);
    std::string line;
    for (char c : text) {
        if (c == '\n') {
            if (!line.empty() && !line.ends_with("; "))
                line += "; ";
        } else {
            line += c;
        }
    }
    while (line.ends_with("; "))
        line.resize(line.size() - 2);
    return line.empty() ? "it printed nothing" : line;
}

}  // namespace

void run_signing_tool(const std::vector<std::string>& argv, std::string_view what,
                      std::string_view next_step, std::chrono::milliseconds timeout)
{
    TempDir dir{"kmsdk-sign"};
    auto log = dir.path() / "output";
    ChildProcess child{argv, log};
    auto status = child.wait_for(timeout);
    if (!status) {
        child.kill();
        throw std::runtime_error(fmt::format("{}: {} did not finish within {} s and was killed; {}",
                                             what, argv.front(), timeout.count() / 1000,
                                             next_step));
    }
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        return;
    throw std::runtime_error(fmt::format("{}: {} {}: {}; {}", what, argv.front(),
                                         describe_wait_status(*status), printed(log), next_step));
}

}  // namespace kmsdk::detail
