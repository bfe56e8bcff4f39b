// SPDX-License-Identifier: GPL-2.0
// Building a student's lab folder for one cached kernel, out of tree.
#include "kmsdk/lab.hpp"

#include "child_process.hpp"
#include "temp_dir.hpp"
#include "text.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <regex>

namespace kmsdk {

namespace fs = std::filesystem;

namespace {

// A Kbuild of a few files takes seconds; a compiler that hangs does not
// hold the check up for longer than this.
constexpr auto build_budget = std::chrono::minutes{5};

// What a build in the student's folder itself (plain make) left there:
// objects of another kernel are no input to this build.
bool is_build_output(const fs::path& file)
{
    auto name = file.filename().string();
    auto extension = file.extension().string();
    return extension == ".o" || extension == ".ko" || extension == ".mod" || name.ends_with(".mod.c") ||
           name.ends_with(".cmd") || name == "Module.symvers" || name == "modules.order" || name == ".kmsdk-lab";
}

// Kbuild's output as the student needs it: the compiler names the copy's
// files (by absolute path up to 6.x, relative from 7.x), which are named
// as the student's own instead, and make's directory chatter goes.
std::string compiler_words(const std::string& log, const fs::path& copy, const fs::path& dir)
{
    static const std::regex entering{R"(^make(\[\d+\])?: (Entering|Leaving) directory)"};
    static const std::regex relative_file{R"(^(\s*)([\w.+-][\w./+-]*\.[chS]):(\d+))"};
    auto prefix = copy.string() + "/";
    std::string words;
    for (auto line : detail::split(log, '\n')) {
        if (std::regex_search(line, entering))
            continue;
        for (auto at = line.find(prefix); at != std::string::npos; at = line.find(prefix, at))
            line.replace(at, prefix.size(), dir.string() + "/");
        std::smatch match;
        if (std::regex_search(line, match, relative_file) && fs::exists(dir / match[2].str()))
            line = match[1].str() + (dir / match[2].str()).string() + line.substr(match[1].length() + match[2].length());
        words += line + "\n";
    }
    return words;
}

void copy_sources(const fs::path& from, const fs::path& to)
{
    for (auto entry = fs::recursive_directory_iterator{from}; entry != fs::recursive_directory_iterator{}; ++entry) {
        auto relative = fs::relative(entry->path(), from);
        if (entry->is_directory()) {
            if (relative.filename().string().starts_with(".")) {
                entry.disable_recursion_pending();
                continue;
            }
            fs::create_directories(to / relative);
        } else if (entry->is_regular_file() && !is_build_output(entry->path())) {
            fs::copy_file(entry->path(), to / relative, fs::copy_options::overwrite_existing);
        }
    }
}

}  // namespace

struct LabBuild::Impl {
    Lab lab;
    fs::path dir;
    fs::path toolchain;
    detail::TempDir built{"kmsdk-lab"};
};

LabBuild::LabBuild(Lab lab, fs::path dir, fs::path toolchain)
    : impl_{(detail::remove_abandoned("kmsdk-lab"), detail::remove_abandoned("kmsdk-lab-build"),
             std::make_unique<Impl>(Impl{std::move(lab), std::move(dir), std::move(toolchain)}))}
{
}

LabBuild::~LabBuild() = default;

std::vector<fs::path> LabBuild::build(const Kernel& kernel)
{
    const auto& lab = impl_->lab;
    const auto& dir = impl_->dir;
    const auto& toolchain = impl_->toolchain;
    auto output = impl_->built.path() / kernel.release();
    if (!fs::is_directory(dir))
        throw LabError(fmt::format("{} is not a folder", dir.string()));
    if (!fs::exists(dir / "Kbuild") && !fs::exists(dir / "Makefile"))
        throw LabError(fmt::format("{} has no Kbuild or Makefile: is it the folder 'kmsdk lab start' made?",
                                   dir.string()));
    detail::TempDir build{"kmsdk-lab-build"};
    copy_sources(dir, build.path());

    auto kdir = kernel.build_dir().string();
    std::vector<std::string> argv = {"env", "-u", "MAKEFLAGS", "-u", "MFLAGS", "-u", "MAKELEVEL",
                                     "bash", toolchain.string(), kdir, "make", "-C", kdir,
                                     "M=" + build.path().string(), "modules"};
    // As kmsdk_add_module builds: 6.1's headers have no vmlinux to make
    // module BTF against.
    if (!fs::exists(kernel.build_dir() / "vmlinux"))
        argv.emplace_back("CONFIG_DEBUG_INFO_BTF_MODULES=");
    auto log = build.path() / ".kmsdk-build.log";
    detail::ChildProcess make{argv, log, detail::ChildProcess::Options{.own_process_group = true}};
    auto status = make.wait_for(std::chrono::duration_cast<std::chrono::milliseconds>(build_budget));
    if (!status) {
        make.kill();
        throw LabError(fmt::format("building {} for {} took over {} minutes; it was stopped", dir.string(),
                                   kernel.release(), std::chrono::duration_cast<std::chrono::minutes>(build_budget).count()));
    }
    auto words = compiler_words(detail::read_if_present(log), build.path(), dir);
    if (*status != 0)
        throw LabError(fmt::format("{} does not build for {}:\n{}", dir.string(), kernel.release(),
                                   detail::last_lines(words, 40)));

    fs::create_directories(output);
    std::vector<fs::path> built;
    for (const auto& module : lab.modules) {
        auto ko = build.path() / (module + ".ko");
        if (!fs::exists(ko))
            throw LabError(fmt::format("building {} for {} made no {}.ko: the lab needs {} (check the obj-m "
                                       "lines of its Kbuild)",
                                       dir.string(), kernel.release(), module, fmt::join(lab.modules, ", ")));
        fs::copy_file(ko, output / ko.filename(), fs::copy_options::overwrite_existing);
        built.push_back(output / ko.filename());
    }
    return built;
}

}  // namespace kmsdk
