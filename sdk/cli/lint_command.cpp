// SPDX-License-Identifier: GPL-2.0
// `kmsdk lint [PATHS]` runs kmsdk-lint.sh, the script `make lint` runs
// too: checkpatch, clang-format and sparse on module C, clang-tidy on C++.
// kmsdk only finds the script and replaces itself with it, so the
// script's output, exit status and signals are the command's own.
#include "commands.hpp"
#include "executable_dir.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <unistd.h>

namespace kmsdk::cli {
namespace {

struct LintFlags {
    std::string kernel;
    std::string compile_commands;
    unsigned jobs = 0;
    std::vector<std::string> paths;
};

std::filesystem::path lint_script()
{
    if (const char* chosen = std::getenv("KMSDK_LINT_SCRIPT"); chosen && *chosen)
        return chosen;
    return sdk_script("kmsdk-lint.sh");
}

[[noreturn]] void exec_lint(const LintFlags& flags)
{
    auto script = lint_script();
    if (!std::filesystem::exists(script))
        throw std::runtime_error(fmt::format("{} is missing; reinstall kmsdk, or set "
                                             "KMSDK_LINT_SCRIPT", script.string()));
    std::vector<std::string> argv = {"bash", script.string()};
    if (!flags.kernel.empty())
        argv.insert(argv.end(), {"--kernel", flags.kernel});
    if (!flags.compile_commands.empty())
        argv.insert(argv.end(), {"--compile-commands", flags.compile_commands});
    if (flags.jobs != 0)
        argv.insert(argv.end(), {"--jobs", std::to_string(flags.jobs)});
    argv.emplace_back("--");
    argv.insert(argv.end(), flags.paths.begin(), flags.paths.end());
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (auto& word : argv)
        args.push_back(word.data());
    args.push_back(nullptr);
    execvp("bash", args.data());
    throw std::runtime_error(fmt::format("cannot run bash for {}: {}", script.string(),
                                         std::strerror(errno)));
}

}  // namespace

Subcommand add_lint_command(CLI::App& app)
{
    auto flags = std::make_shared<LintFlags>();
    auto* command = app.add_subcommand(
        "lint", "Lint kernel module C (checkpatch --strict, clang-format, sparse) and C++ "
                "(clang-tidy)");
    command->footer(
        "Every finding is printed as file:line: message, then a summary line per tool. Exit "
        "status: 0 nothing found, 1 a tool found something or could not run, 2 a wrong "
        "command line (a PATH that does not exist). checkpatch.pl comes from Debian's "
        "linux-source package, fetched once into the kmsdk cache.");
    command->add_option("paths", flags->paths, "Module folders or files (default: .)");
    command->add_option("-k,--kernel", flags->kernel,
                        "The cached kernel sparse builds against (default: the newest "
                        "generic kernel that builds with the host's compiler)");
    command->add_option("-p,--compile-commands", flags->compile_commands,
                        "The compile_commands.json clang-tidy reads for the C++ (default: "
                        "one in a PATH folder or its build/)");
    command->add_option("-j,--jobs", flags->jobs, "Tools run this many at a time (default: "
                                                  "the number of CPUs)");
    return {command, [flags](const std::vector<std::string>&) -> int { exec_lint(*flags); }};
}

}  // namespace kmsdk::cli
