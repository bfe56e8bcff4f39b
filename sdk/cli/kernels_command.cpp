// SPDX-License-Identifier: GPL-2.0
// `kmsdk kernels` runs scripts/kernels.sh, the same code scripts/setup.sh
// fetches kernels with.
#include "commands.hpp"
#include "executable_dir.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace kmsdk::cli {
namespace {

std::filesystem::path kernels_script()
{
    if (const char* chosen = std::getenv("KMSDK_KERNELS_SCRIPT"); chosen && *chosen)
        return chosen;
    // Installed: <prefix>/bin/kmsdk and <prefix>/share/kmsdk/kernels.sh.
    if (auto bin = executable_dir(); !bin.empty()) {
        auto installed = bin.parent_path() / "share/kmsdk/kernels.sh";
        if (std::filesystem::exists(installed))
            return installed;
    }
    return KMSDK_SOURCE_KERNELS_SCRIPT;
}

int run_script(const std::vector<std::string>& words)
{
    auto script = kernels_script();
    if (!std::filesystem::exists(script))
        throw std::runtime_error(fmt::format("{} is missing; reinstall kmsdk, or set "
                                             "KMSDK_KERNELS_SCRIPT", script.string()));
    std::vector<std::string> argv = {"bash", script.string()};
    argv.insert(argv.end(), words.begin(), words.end());
    std::vector<char*> args;
    for (auto& word : argv)
        args.push_back(word.data());
    args.push_back(nullptr);

    pid_t pid = fork();
    if (pid == 0) {
        execvp("bash", args.data());
        _exit(127);
    }
    if (pid < 0)
        throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : exit_failure;
}

}  // namespace

Subcommand add_kernels_command(CLI::App& app)
{
    auto series = std::make_shared<std::vector<std::string>>();
    auto* command = app.add_subcommand("kernels", "List the cached kernels, or fetch more");
    auto* list = command->add_subcommand("list", "List the cached kernels (the default)");
    auto* fetch = command->add_subcommand(
        "fetch", "Fetch kernels from Debian's archive into the cache (apt-get download; "
                 "nothing is installed into /boot)");
    fetch->add_option("series", *series,
                      "Series (6.1, 6.12: the newest release with headers and image) or "
                      "releases; default: 6.1 6.12");
    return {command, [fetch, list, series](const std::vector<std::string>&) {
                (void)list;
                if (fetch->parsed()) {
                    std::vector<std::string> words = {"fetch"};
                    words.insert(words.end(), series->begin(), series->end());
                    return run_script(words);
                }
                return run_script({"list"});
            }};
}

}  // namespace kmsdk::cli
