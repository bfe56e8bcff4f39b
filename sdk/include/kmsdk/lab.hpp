// SPDX-License-Identifier: GPL-2.0
//
// Course labs: a task sheet, a skeleton module with numbered TODOs, and a
// checker that gives points per task, each check run in a real guest.
//
// A lab is a folder: README.md (the task sheet), lab.json (the checker),
// skeleton/ (what a student starts from) and solution/. lab.json:
//
//   {"title": "...", "summary": "...", "modules": ["kms_lab_params"],
//    "devices": [], "tasks": [{"title": "...", "points": 2, "steps": [
//      {"run": "insmod kms_lab_params.ko count=0", "status": "nonzero",
//       "stderr": "Invalid argument", "hint": "..."}]}]}
//
// A step is a shell command line run where the built modules are staged;
// it passes when its exit status is the one expected (default 0;
// "nonzero": any failure) and each regular expression given (stdout,
// stderr, dmesg: what the kernel logged meanwhile) matches. A task earns
// its points when all its steps pass and the kernel reported no problem
// meanwhile; an Oops costs the task, not the check: the guest boots again
// for the next task. Before each task, the lab's modules still loaded are
// unloaded.
#pragma once

#include "kmsdk/guest.hpp"
#include "kmsdk/kernel.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace kmsdk {

class LabError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct LabStep {
    std::string run;
    std::optional<int> status = 0;  // nullopt: any failure
    std::string stdout_pattern;
    std::string stderr_pattern;
    std::string dmesg_pattern;
    std::string hint;
};

struct LabTask {
    std::string title;
    unsigned points = 0;
    std::vector<LabStep> steps;
};

struct Lab {
    std::string name;  // its folder's name
    std::filesystem::path dir;
    std::string title;
    std::string summary;
    std::vector<std::string> modules;  // what building a student's folder must make
    std::vector<std::string> devices;  // QEMU -device arguments
    std::vector<LabTask> tasks;

    unsigned points() const;

    // Reads dir/lab.json; throws LabError naming the file and what is wrong.
    static Lab read(const std::filesystem::path& dir);
};

// The labs in `labs_dir`, by name.
std::vector<Lab> list_labs(const std::filesystem::path& labs_dir);
// Throws LabError naming the labs there are.
Lab find_lab(const std::filesystem::path& labs_dir, std::string_view name);

// Copies the lab's skeleton and task sheet into `dir` (made; refused when
// it holds anything), with a .kmsdk-lab file naming the lab for check.
void start_lab(const Lab& lab, const std::filesystem::path& dir);
// The lab a folder made by start_lab() is for; "" when it has no .kmsdk-lab.
std::string lab_of(const std::filesystem::path& dir);

// A student's folder built out of tree (copies in a temporary folder,
// removed with this object; the student's own folder is left as it was).
class LabBuild {
public:
    // `toolchain`: kmsdk-toolchain.sh, which runs Kbuild in the kernel's
    // build root.
    LabBuild(Lab lab, std::filesystem::path dir, std::filesystem::path toolchain);
    ~LabBuild();
    LabBuild(const LabBuild&) = delete;
    LabBuild& operator=(const LabBuild&) = delete;

    // The lab's modules built for `kernel`. Throws LabError with the
    // compiler's words when the build fails or misses a module.
    std::vector<std::filesystem::path> build(const Kernel& kernel);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct TaskOutcome {
    const LabTask* task = nullptr;
    unsigned earned = 0;
    // Why it earned nothing: the step and what did not hold, or the
    // kernel's report; empty when it earned its points.
    std::string failure;
    std::string hint;
};

struct LabOutcome {
    std::vector<TaskOutcome> tasks;
    unsigned earned = 0;
    unsigned points = 0;
    bool full() const { return earned == points; }
};

// Runs the lab's checker in a guest of `kernel` with `modules` staged;
// `on_task` hears of each task as it is scored.
LabOutcome check_lab(const Lab& lab, const std::vector<std::filesystem::path>& modules, const Kernel& kernel,
                     GuestOptions options, const std::function<void(const TaskOutcome&)>& on_task = {});

}  // namespace kmsdk
