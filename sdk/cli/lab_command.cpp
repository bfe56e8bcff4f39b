// SPDX-License-Identifier: GPL-2.0
// `kmsdk lab list | start LAB DIR | check [DIR]`: course labs. check builds
// the student's folder for every cached kernel, runs the lab's checker in
// a guest and prints the points per task, then "N/M points"; it exits 0
// only with full points.
#include "commands.hpp"
#include "executable_dir.hpp"
#include "forwarded_signals.hpp"

#include "kmsdk/lab.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <memory>

namespace kmsdk::cli {
namespace {

namespace fs = std::filesystem;

struct LabArgs {
    std::string lab;
    std::string dir = ".";
    std::string kernel;
    bool quiet = false;
};

fs::path labs_dir()
{
    if (const char* chosen = std::getenv("KMSDK_LABS"); chosen && *chosen)
        return chosen;
    return shipped_data("labs");
}

int list()
{
    auto labs = list_labs(labs_dir());
    std::size_t width = 0;
    for (const auto& lab : labs)
        width = std::max(width, lab.name.size());
    for (const auto& lab : labs)
        fmt::print("{:<{}}  {:>2} points  {}: {}\n", lab.name, width, lab.points(), lab.title, lab.summary);
    return exit_ok;
}

int start(const LabArgs& args)
{
    auto lab = find_lab(labs_dir(), args.lab);
    start_lab(lab, args.dir);
    fmt::print(stderr,
               "kmsdk: lab {} started in {}: the task sheet is {}/README.md, the TODOs are numbered in the "
               "sources.\nkmsdk: check your work with: kmsdk lab check {}\n",
               lab.name, args.dir, args.dir, args.dir);
    return exit_ok;
}

void print_task(std::size_t number, const TaskOutcome& outcome)
{
    fmt::print("task {}: {}: {}/{}\n", number, outcome.task->title, outcome.earned, outcome.task->points);
    if (outcome.failure.empty())
        return;
    std::string indented;
    for (char c : outcome.failure) {
        indented += c;
        if (c == '\n')
            indented += "  ";
    }
    fmt::print("  {}\n", indented);
    if (!outcome.hint.empty())
        fmt::print("  hint: {}\n", outcome.hint);
    std::fflush(stdout);
}

int check(const LabArgs& args)
{
    auto name = args.lab.empty() ? lab_of(args.dir) : args.lab;
    if (name.empty())
        throw LabError(fmt::format("{} was not made by 'kmsdk lab start' (it has no .kmsdk-lab): name its lab "
                                   "with --lab (kmsdk lab list)",
                                   args.dir));
    auto lab = find_lab(labs_dir(), name);
    auto& signals = ForwardedSignals::install();
    auto guest_kernel = Kernel::find(args.kernel);

    // Every cached kernel must build it; the checker runs on one.
    LabBuild build{lab, args.dir, sdk_script("kmsdk-toolchain.sh")};
    std::vector<fs::path> modules;
    for (const auto& kernel : Kernel::list()) {
        if (!args.quiet)
            fmt::print(stderr, "kmsdk: building {} for {}...\n", args.dir, kernel.release());
        try {
            auto built = build.build(kernel);
            if (kernel.release() == guest_kernel.release())
                modules = built;
        } catch (const LabError& error) {
            fmt::print("{}\n0/{} points\n", error.what(), lab.points());
            return exit_failure;
        }
        signals.stop_if_received("while the lab was building");
    }
    if (!args.quiet)
        fmt::print(stderr, "kmsdk: checking lab {} in a guest on {}...\n", lab.name, guest_kernel.release());
    std::size_t number = 0;
    auto outcome = check_lab(lab, modules, guest_kernel, GuestOptions{}.signals(signals.watch_fd()),
                             [&](const TaskOutcome& task) { print_task(++number, task); });
    fmt::print("{}/{} points\n", outcome.earned, outcome.points);
    return outcome.full() ? exit_ok : exit_failure;
}

}  // namespace

Subcommand add_lab_command(CLI::App& app)
{
    auto args = std::make_shared<LabArgs>();
    auto* command = app.add_subcommand("lab", "Course labs: list them, start one from its skeleton, check your "
                                              "work in a guest for points");
    command->require_subcommand(1);
    auto* list_command = command->add_subcommand("list", "List the labs, with their points and what each teaches");
    auto* start_command = command->add_subcommand(
        "start", "Copy a lab's skeleton and task sheet into a new folder");
    start_command->add_option("lab", args->lab, "The lab (kmsdk lab list)")->required();
    start_command->add_option("dir", args->dir, "The folder to make")->required();
    auto* check_command = command->add_subcommand(
        "check", "Build a lab folder for every cached kernel, run the lab's checker in a guest, print the "
                 "points per task and in all; exit 0 only with full points");
    check_command->add_option("dir", args->dir, "The folder 'kmsdk lab start' made")->capture_default_str();
    check_command->add_option("--lab", args->lab,
                              "Check the folder against this lab (default: the one it was started from)");
    check_command->add_option("-k,--kernel", args->kernel,
                              "The kernel the checker's guest runs (default: the newest cached)");
    check_command->add_flag("-q,--quiet", args->quiet, "Do not report progress on stderr");
    check_command->footer(
        "Each task's checks run in a real guest. An Oops or a hang in your module costs that task's "
        "points, and the next task gets a fresh guest. Exit status: 0 with full points, 1 otherwise.\n"
        "Example:\n"
        "  kmsdk lab start params ~/params && kmsdk lab check ~/params");
    return {command, [args, list_command, start_command, check_command](const std::vector<std::string>&) {
                if (list_command->parsed())
                    return list();
                if (start_command->parsed())
                    return start(*args);
                if (check_command->parsed())
                    return check(*args);
                return static_cast<int>(exit_usage);
            }};
}

}  // namespace kmsdk::cli
