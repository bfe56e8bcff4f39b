// SPDX-License-Identifier: GPL-2.0
#include "qemu.hpp"

#include "host_command.hpp"

#include "kmsdk/proto/frame.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace kmsdk::detail {
namespace {

const std::filesystem::path qboot = "/usr/share/qemu/qboot.rom";

// QEMU's option syntax doubles a comma inside a value.
std::string option_value(const std::filesystem::path& path)
{
    std::string escaped;
    for (char c : path.string()) {
        escaped += c;
        if (c == ',')
            escaped += ',';
    }
    return escaped;
}

}  // namespace

std::filesystem::path qemu_binary()
{
    if (const char* chosen = std::getenv("KMSDK_QEMU"); chosen && *chosen) {
        if (::access(chosen, X_OK) != 0)
            throw std::runtime_error(fmt::format("KMSDK_QEMU={} is not an executable; unset it or fix the path",
                                                 chosen));
        return chosen;
    }
    auto found = find_in_path("qemu-system-x86_64");
    if (found.empty())
        throw std::runtime_error("QEMU is not installed: run scripts/setup.sh, or "
                                 "'apt-get install qemu-system-x86'");
    return found;
}

std::vector<std::string> qemu_command(const MachineConfig& config)
{
    if (!std::filesystem::exists(qboot))
        throw std::runtime_error(fmt::format("{} is missing: install qemu-system-data "
                                             "(run scripts/setup.sh)", qboot.string()));
    // The backend's id is the RAM block's name in the migration stream.
    auto ram_backend = config.ram_file.empty() ? "" : ",memory-backend=pc.ram";
    std::vector<std::string> args = {
        qemu_binary().string(),
        "-machine", fmt::format("q35,accel={}{}", config.accel, ram_backend),
        "-bios", qboot.string(),
        "-m", std::to_string(config.memory_mb),
        "-smp", std::to_string(config.cpus),
        "-nodefaults", "-no-user-config", "-no-reboot", "-display", "none",
        "-kernel", config.vmlinux.string(),
        "-initrd", config.initrd.string(),
        "-append", config.kernel_cmdline,
        "-chardev", fmt::format("file,id=console,path={}", config.console_log.string()),
        "-serial", "chardev:console",
        "-device", "virtio-serial-pci,id=agent-bus",
        "-chardev", fmt::format("socket,id=agent,path={},server=on,wait=off", config.agent_socket.string()),
        "-device", fmt::format("virtserialport,bus=agent-bus.0,chardev=agent,name={}", proto::port_name),
    };
    if (!config.ram_file.empty())
        args.insert(args.end(),
                    {"-object", fmt::format("memory-backend-file,id=pc.ram,size={}M,mem-path={},share={}",
                                            config.memory_mb, option_value(config.ram_file),
                                            config.ram_shared ? "on" : "off")});
    for (const auto& device : config.devices) {
        args.emplace_back("-device");
        args.push_back(device);
    }
    if (!config.gdb_socket.empty())
        args.insert(args.end(), {"-chardev", fmt::format("socket,id=gdb,path={},server=on,wait=off",
                                                         option_value(config.gdb_socket)),
                                 "-gdb", "chardev:gdb"});
    args.insert(args.end(), {"-qmp", fmt::format("unix:{},server=on,wait=off", config.qmp_socket.string())});
    if (config.incoming_fd >= 0)
        args.insert(args.end(), {"-S", "-incoming", "defer"});
    return args;
}

std::string incoming_uri()
{
    return fmt::format("fd:{}", ChildProcess::passed_fd_number);
}

ChildProcess start_qemu(const MachineConfig& config)
{
    // A group of its own: the terminal's Ctrl-C (sent to kmsdk's whole
    // group) is kmsdk's to forward to the guest command, not QEMU's to die of.
    return ChildProcess{qemu_command(config), config.qemu_log,
                        ChildProcess::Options{.own_process_group = true,
                                              .pass_fd = config.incoming_fd}};
}

std::string machine_identity(const MachineConfig& config)
{
    auto stable = config;
    stable.console_log = "console";
    stable.agent_socket = "agent";
    stable.qmp_socket = "qmp";
    stable.gdb_socket.clear();
    stable.qemu_log.clear();
    // Saved from a shared mapping of one file, restored from a private one
    // of another: the same machine.
    stable.ram_file = "ram";
    stable.ram_shared = false;
    stable.incoming_fd = -1;
    std::string identity;
    for (const auto& arg : qemu_command(stable))
        identity += arg + '\n';
    // A rebuilt file keeps its name: its size and time tell the builds apart.
    for (const auto& file : {qemu_binary(), qboot, config.vmlinux, config.initrd}) {
        std::error_code error;
        auto size = std::filesystem::file_size(file, error);
        auto time = std::filesystem::last_write_time(file, error).time_since_epoch().count();
        identity += fmt::format("{} {} {}\n", file.string(), size, time);
    }
    return identity;
}

}  // namespace kmsdk::detail
