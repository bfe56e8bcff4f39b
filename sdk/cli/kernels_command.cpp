// SPDX-License-Identifier: GPL-2.0
// `kmsdk kernels` runs scripts/kernels.sh, the same code scripts/setup.sh
// fetches kernels with: list, available, fetch and remove (kernels, and
// the build roots they leave unused).
#include "commands.hpp"
#include "executable_dir.hpp"
#include "forwarded_signals.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
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
    args.reserve(argv.size() + 1);
    for (auto& word : argv)
        args.push_back(word.data());
    args.push_back(nullptr);

    // A signal for kmsdk (a supervisor's SIGTERM, a Ctrl-C) goes to the
    // script too, which removes what it had half made; kmsdk then exits
    // with the script's status rather than leave it running alone.
    const auto& signals = ForwardedSignals::install();
    pid_t pid = fork();
    if (pid == 0) {
        ::signal(SIGPIPE, SIG_DFL);
        execvp("bash", args.data());
        _exit(127);
    }
    if (pid < 0)
        throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        if (int signal = signals.take_undelivered())
            ::kill(pid, signal);
    if (WIFSIGNALED(status))
        return exit_signal_base + WTERMSIG(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : exit_failure;
}

}  // namespace

Subcommand add_kernels_command(CLI::App& app)
{
    auto words = std::make_shared<std::vector<std::string>>();
    auto roots = std::make_shared<std::vector<std::string>>();
    auto* command = app.add_subcommand(
        "kernels", "List the cached kernels and build roots, see what Debian's archive offers, "
                   "fetch or remove");
    command->footer(
        "SPEC: a series (6.12, 7.3), a series and flavour (6.12-rt, 6.12-cloud), a full release "
        "(6.12.117+deb12-rt-amd64), or any of them after a suite (trixie:6.12). A SPEC resolves "
        "to the newest release whose kernel, modules and headers are all in Debian's archive, "
        "looked up first in the host's own Debian release. The archive is read through a private "
        "apt configuration in the kmsdk cache: the host's /etc/apt and /boot stay as they are.");
    struct Verb {
        const char* name;
        const char* help;
        const char* operands;
    };
    static constexpr Verb verbs[] = {
        {"list", "List the cached kernels with their suite and size on disk, the build roots "
                 "with the kernels that build in them, and the cache's total (the default)",
         nullptr},
        {"available", "List what Debian's archive offers: each series and flavour, its suite "
                      "and newest release",
         "Suites to list (default: every suite kmsdk reads)"},
        {"fetch", "Fetch kernels from Debian's archive into the cache (apt-get download into "
                  "the cache; nothing is installed)",
         "SPECs to fetch (default: 6.1 6.12)"},
        {"remove", "Delete cached kernels, with their snapshots and base initramfs, and the "
                   "build root the last of them built in; or a build root no kernel builds in",
         "SPECs of cached kernels"},
    };
    auto debug_symbols = std::make_shared<bool>(false);
    std::vector<std::pair<const char*, CLI::App*>> parsed;
    CLI::App* remove = nullptr;
    for (const auto& verb : verbs) {
        auto* sub = command->add_subcommand(verb.name, verb.help);
        if (verb.operands)
            sub->add_option(verb.name == std::string_view{"available"} ? "suites" : "specs",
                            *words, verb.operands);
        if (verb.name == std::string_view{"remove"})
            remove = sub;
        if (verb.name == std::string_view{"fetch"})
            sub->add_flag("--debug-symbols", *debug_symbols,
                          "Also fetch each kernel's -dbg package (about 850 MB to download) and "
                          "keep its vmlinux with debug information, which kmsdk debug then gives "
                          "gdb: the kernel's types, variables and source lines");
        parsed.emplace_back(verb.name, sub);
    }
    // A root is normally removed with its last kernel; --root is for one
    // left behind (its kernels deleted by hand, or by an older kmsdk).
    remove->add_option("--root", *roots,
                       "A build root to remove, as 'kmsdk kernels list' names it "
                       "(trixie-gcc-14); refused while a cached kernel builds in it")
        ->type_name("NAME");
    return {command, [parsed, words, roots, remove, debug_symbols](const std::vector<std::string>&) {
                // remove needs something to remove, a SPEC or a --root: a
                // usage error (2), as CLI11 reports a missing operand.
                if (remove->parsed() && words->empty() && roots->empty()) {
                    fmt::print(stderr, "kmsdk: name the kernels to remove (kmsdk kernels remove "
                                       "6.1) or a build root (--root trixie-gcc-14)\n"
                                       "Run 'kmsdk kernels remove --help' for usage.\n");
                    return static_cast<int>(exit_usage);
                }
                for (const auto& [name, sub] : parsed)
                    if (sub->parsed()) {
                        std::vector<std::string> script_words = {name};
                        if (*debug_symbols)
                            script_words.emplace_back("--debug-symbols");
                        for (const auto& root : *roots) {
                            script_words.emplace_back("--root");
                            script_words.push_back(root);
                        }
                        script_words.insert(script_words.end(), words->begin(), words->end());
                        return run_script(script_words);
                    }
                return run_script({"list"});
            }};
}

}  // namespace kmsdk::cli
