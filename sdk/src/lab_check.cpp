// SPDX-License-Identifier: GPL-2.0
// A lab's checker, run in a real guest: each task's steps, then what the
// kernel said meanwhile.
#include "kmsdk/lab.hpp"

#include "text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

namespace kmsdk {

namespace fs = std::filesystem;

namespace {

// One step of a student's module that hangs costs its task this long.
constexpr auto step_timeout = std::chrono::seconds{30};

bool matches(const std::string& pattern, const std::string& text)
{
    return pattern.empty() ||
           std::regex_search(text, std::regex{pattern, std::regex::ECMAScript | std::regex::multiline});
}

// A command's output as a message quotes it: its last lines, indented.
std::string quoted(const char* stream, const std::string& text)
{
    if (text.empty())
        return fmt::format("\n    {} was empty", stream);
    std::string lines;
    for (const auto& line : detail::split(detail::last_lines(text, 6), '\n'))
        lines += "\n      " + line;
    return fmt::format("\n    {} was:{}", stream, lines);
}

// Why the step did not pass; empty when it did.
std::string step_failure(const LabStep& step, const CommandResult& result, const std::string& dmesg)
{
    if (step.status ? result.status != *step.status : result.status == 0)
        return fmt::format("it exited with status {} where {} was expected", result.status,
                           step.status ? std::to_string(*step.status) : "a failure");
    if (!matches(step.stdout_pattern, result.out))
        return fmt::format("its output does not match /{}/", step.stdout_pattern);
    if (!matches(step.stderr_pattern, result.err))
        return fmt::format("its error output does not match /{}/", step.stderr_pattern);
    if (!matches(step.dmesg_pattern, dmesg))
        return fmt::format("the kernel log does not match /{}/", step.dmesg_pattern);
    return {};
}

// Each task starts with none of the lab's modules loaded, whatever the
// previous one left; one that will not go (a reference it never drops)
// takes a fresh guest.
void unload_lab_modules(Guest& guest, const Lab& lab)
{
    auto loaded = guest.loaded_modules();
    for (auto module = lab.modules.rbegin(); module != lab.modules.rend(); ++module)
        if (std::find(loaded.begin(), loaded.end(), *module) != loaded.end() && !guest.rmmod(*module).ok()) {
            guest.reboot();
            return;
        }
}

// Runs the task's steps; the first that fails ends it.
void run_steps(Guest& guest, const LabTask& task, TaskOutcome& outcome)
{
    for (std::size_t i = 0; i < task.steps.size(); ++i) {
        const auto& step = task.steps[i];
        auto mark = guest.log_mark();
        auto result = guest.run(Command::shell(step.run), step_timeout);
        auto dmesg = guest.dmesg_since(mark);
        auto why = step_failure(step, result, dmesg);
        if (why.empty())
            continue;
        outcome.failure = fmt::format("step {} `{}`: {}{}{}", i + 1, step.run, why, quoted("stdout", result.out),
                                      quoted("stderr", result.err));
        if (!step.dmesg_pattern.empty())
            outcome.failure += quoted("the kernel log", dmesg);
        outcome.hint = step.hint;
        return;
    }
}

TaskOutcome check_task(Guest& guest, const Lab& lab, const LabTask& task)
{
    TaskOutcome outcome{&task, 0, {}, {}};
    try {
        unload_lab_modules(guest, lab);
        run_steps(guest, task, outcome);
        // An Oops in the student's module is the verdict, whatever the
        // step it happened in made of it.
        auto health = guest.health();
        if (!health.healthy()) {
            outcome.failure = "the kernel reported a problem:\n" + health.describe();
            outcome.hint.clear();
            guest.reboot();
        }
    } catch (const Interrupted&) {
        throw;
    } catch (const GuestError& error) {
        // A hung step, a guest that died: the next task gets a fresh one.
        outcome.failure = error.what();
        outcome.hint.clear();
        guest.reboot();
    }
    if (outcome.failure.empty())
        outcome.earned = task.points;
    return outcome;
}

}  // namespace

LabOutcome check_lab(const Lab& lab, const std::vector<fs::path>& modules, const Kernel& kernel,
                     GuestOptions options, const std::function<void(const TaskOutcome&)>& on_task)
{
    options.kernel(kernel.release()).modules(modules);
    for (const auto& device : lab.devices)
        options.device(device);
    // A task loads the module itself: a device's alias must not load it
    // at boot, where an Oops would stop the guest from coming up.
    std::string blacklist;
    for (const auto& module : lab.modules)
        blacklist += "blacklist " + module + "\n";
    options.modprobe_conf("kmsdk-lab", blacklist);

    Guest guest{std::move(options)};
    LabOutcome outcome;
    outcome.points = lab.points();
    for (const auto& task : lab.tasks) {
        outcome.tasks.push_back(check_task(guest, lab, task));
        outcome.earned += outcome.tasks.back().earned;
        if (on_task)
            on_task(outcome.tasks.back());
    }
    return outcome;
}

}  // namespace kmsdk
