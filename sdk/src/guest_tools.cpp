// SPDX-License-Identifier: GPL-2.0
#include "guest_tools.hpp"

#include "host_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

namespace kmsdk::detail {
namespace fs = std::filesystem;
namespace {

constexpr const char* search_dirs[] = {"/usr/sbin", "/usr/bin", "/sbin", "/bin"};

}  // namespace

fs::path find_program(const ToolWanted& tool)
{
    for (const auto* dir : search_dirs) {
        fs::path candidate = fs::path{dir} / tool.applet;
        std::error_code error;
        if (fs::is_regular_file(candidate, error) && ::access(candidate.c_str(), X_OK) == 0)
            return fs::canonical(candidate);
    }
    throw std::runtime_error(fmt::format(
        "the guest runs the host's {} (Debian package {}), and this host has none; install it "
        "(apt-get install {}) or run scripts/setup.sh",
        tool.applet, tool.package, tool.package));
}

namespace {

HostFile host_file(const fs::path& guest_path)
{
    HostFile file;
    file.guest_path = guest_path;
    file.source = fs::canonical(guest_path);
    file.size = fs::file_size(file.source);
    file.modified_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           fs::last_write_time(file.source).time_since_epoch())
                           .count();
    return file;
}

}  // namespace

const std::vector<ToolWanted>& default_guest_tools()
{
    static const std::vector<ToolWanted> tools = {
        {"insmod", "kmod"},         {"rmmod", "kmod"},   {"lsmod", "kmod"},
        {"modinfo", "kmod"},        {"modprobe", "kmod"}, {"depmod", "kmod"},
        {"dmesg", "util-linux"},    {"mount", "mount"},  {"umount", "mount"},
        {"ip", "iproute2"},
        // busybox's own shell runs its applets before anything on PATH
        // (it is built with FEATURE_SH_STANDALONE), so `sh -c insmod …`
        // would never reach kmod: the guest's sh is Debian's, dash.
        {"sh", "dash"},
    };
    return tools;
}

std::vector<fs::path> parse_ldd(const std::string& ldd_output, const fs::path& program)
{
    // "\tlibkmod.so.2 => /lib/x86_64-linux-gnu/libkmod.so.2 (0x...)"
    // "\t/lib64/ld-linux-x86-64.so.2 (0x...)"
    // "\tlinux-vdso.so.1 (0x...)"
    std::vector<fs::path> paths;
    std::istringstream lines{ldd_output};
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words{line};
        std::string first, arrow, target;
        words >> first >> arrow >> target;
        if (arrow == "=>") {
            if (target == "not")
                throw std::runtime_error(fmt::format(
                    "{} needs {}, which the host's loader cannot find; reinstall the package "
                    "that has {} (dpkg -S {})",
                    program.string(), first, program.string(), program.string()));
            if (target.starts_with('/'))
                paths.emplace_back(target);
        } else if (first.starts_with('/')) {
            paths.emplace_back(first);
        }
    }
    return paths;
}

GuestTools find_guest_tools(const std::vector<ToolWanted>& wanted)
{
    GuestTools tools;
    std::set<fs::path> added;
    auto add = [&](const fs::path& guest_path) {
        if (added.insert(guest_path).second)
            tools.files.push_back(host_file(guest_path));
    };
    for (const auto& tool : wanted) {
        auto program = find_program(tool);
        tools.applets.emplace_back(tool.applet, program.string());
        if (added.contains(program))
            continue;
        add(program);
        for (const auto& library : parse_ldd(output_of({"ldd", program.string()}), program))
            add(library);
    }
    return tools;
}

}  // namespace kmsdk::detail
