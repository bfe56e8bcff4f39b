// SPDX-License-Identifier: GPL-2.0
//
// Insmod and Rmmod done by the agent itself with finit_module and
// delete_module: no fork and exec of a tool per module, which under
// emulation is most of an insmod's cost. The replies word errors as kmod's
// insmod and rmmod do, so tests read the messages users know.
#include "log.hpp"
#include "requests.hpp"
#include "system.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace kmsdk::agent {
namespace {

// finit_module flag (Linux 5.17): the kernel decompresses the file itself
// if built with CONFIG_MODULE_DECOMPRESS, as Debian's 6.12 is.
constexpr unsigned module_init_compressed_file = 4;

bool starts_with_bytes(const unsigned char* data, std::size_t size,
                       std::initializer_list<unsigned char> magic)
{
    return size >= magic.size() && std::equal(magic.begin(), magic.end(), data);
}

// A module file compressed with xz, gzip or zstd, by its magic bytes.
bool is_compressed(int fd)
{
    unsigned char head[6] = {};
    ssize_t got = ::pread(fd, head, sizeof head, 0);
    if (got <= 0)
        return false;
    auto size = static_cast<std::size_t>(got);
    return starts_with_bytes(head, size, {0xfd, '7', 'z', 'X', 'Z', 0x00}) ||
           starts_with_bytes(head, size, {0x1f, 0x8b}) ||
           starts_with_bytes(head, size, {0x28, 0xb5, 0x2f, 0xfd});
}

// 0, or the errno finit_module failed with.
int load_module_fd(int fd, const std::string& params)
{
    unsigned flags = is_compressed(fd) ? module_init_compressed_file : 0;
    if (::syscall(SYS_finit_module, fd, params.c_str(), flags) != 0)
        return errno;
    return 0;
}

// kmod's insmod words these errno values its own way.
std::string insert_error_text(int error)
{
    switch (error) {
    case ENOEXEC: return "Invalid module format";
    case ENOENT: return "Unknown symbol in module, or unknown parameter (see dmesg)";
    case ESRCH: return "Module has wrong symbol version";
    case EINVAL: return "Invalid parameters";
    default: return errno_text(error);
    }
}

// "kms_hello" from "kms-hello", "kms_hello.ko" or "/path/kms_hello.ko.xz",
// as the kernel names modules.
std::string module_name_of(std::string_view argument)
{
    if (auto slash = argument.find_last_of('/'); slash != std::string_view::npos)
        argument.remove_prefix(slash + 1);
    if (auto ko = argument.find(".ko"); ko != std::string_view::npos)
        argument = argument.substr(0, ko);
    std::string name{argument};
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

bool listed_as_builtin(const std::string& name)
{
    auto builtin = read_whole_file("/lib/modules/" + kernel_release() + "/modules.builtin");
    if (!builtin)
        return false;
    for (const auto& line : split_lines(*builtin))
        if (!line.empty() && module_name_of(line) == name)
            return true;
    return false;
}

proto::ModuleResult module_result(int error, const std::string& message, std::uint64_t started)
{
    return proto::ModuleResult{error, message, monotonic_ns() - started};
}

struct Refusal {
    int error;
    std::string message;
};

// What kmod's rmmod checks before it calls delete_module, in its order and
// words. Nothing if the module may go.
std::optional<Refusal> why_not_removable(const std::string& name)
{
    const std::string sys = "/sys/module/" + name;
    if (!path_exists(sys + "/initstate")) {
        // Built-in modules with parameters have a /sys/module entry too.
        if (path_exists(sys) || listed_as_builtin(name))
            return Refusal{ENOENT, "Module " + name + " is builtin."};
        return Refusal{ENOENT, "Module " + name + " is not currently loaded"};
    }
    auto holders = list_directory(sys + "/holders");
    if (!holders.empty()) {
        std::string message = "Module " + name + " is in use by:";
        for (const auto& holder : holders)
            message += " " + holder;
        return Refusal{EBUSY, message};
    }
    if (read_sysfs_value(sys + "/refcnt") != "0")
        return Refusal{EBUSY, "Module " + name + " is in use"};
    return std::nullopt;
}

}  // namespace

proto::ModuleResult insert_module(const proto::Insmod& request)
{
    const std::string& path = request.path;
    const auto started = monotonic_ns();

    UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (!fd) {
        int error = errno;
        return module_result(error, "could not load module " + path + ": " + errno_text(error),
                             started);
    }
    int error = load_module_fd(fd.get(), request.params);
    if (error != 0)
        return module_result(error,
                             "could not insert module " + path + ": " + insert_error_text(error),
                             started);
    return module_result(0, "", started);
}

proto::ModuleResult remove_module(const proto::Rmmod& request)
{
    const std::string& argument = request.name;
    const bool force = request.force;
    const auto started = monotonic_ns();
    std::string name = module_name_of(argument);
    if (name.empty())
        throw RequestError(EINVAL, "Rmmod needs a module name");

    // Like kmod, a forced removal skips the checks and asks the kernel.
    if (!force)
        if (auto refusal = why_not_removable(name))
            return module_result(refusal->error, refusal->message, started);

    unsigned flags = O_NONBLOCK | (force ? O_TRUNC : 0);
    if (::syscall(SYS_delete_module, name.c_str(), flags) != 0) {
        int error = errno;
        return module_result(
            error, "could not remove module " + argument + ": " + errno_text(error), started);
    }
    return module_result(0, "", started);
}

void load_channel_modules()
{
    constexpr const char* list_path = "/etc/kmsdk/channel-modules";
    auto list = read_whole_file(list_path);
    if (!list) {
        if (errno != ENOENT)
            log_problem(std::string{"cannot read "} + list_path + ": " + errno_text(errno));
        return;
    }
    const auto started = monotonic_ns();
    int loaded = 0;
    for (const auto& raw : split_lines(*list)) {
        auto line = trimmed(raw);
        if (line.empty() || line.front() == '#')
            continue;
        UniqueFd fd{::open(line.c_str(), O_RDONLY | O_CLOEXEC)};
        if (!fd) {
            log_problem("cannot open channel module " + line + ": " + errno_text(errno));
            continue;
        }
        int error = load_module_fd(fd.get(), "");
        if (error != 0 && error != EEXIST)
            log_problem("cannot load channel module " + line + ": " + insert_error_text(error));
        else
            ++loaded;
    }
    log_note("loaded " + std::to_string(loaded) + " channel modules in " +
             std::to_string((monotonic_ns() - started) / 1'000'000) + " ms");
}

}  // namespace kmsdk::agent
