// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "child_process.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kmsdk::detail {

// One QEMU machine as the runtime boots it (docs/DESIGN.md, "The guest recipe"):
// q35 with qboot, the kernel's PVH vmlinux, an uncompressed initramfs, no
// network, the console on ttyS0 into a file, and the agent's channel on a
// virtio-serial port.
struct MachineConfig {
    std::filesystem::path vmlinux;
    std::filesystem::path initrd;
    std::string kernel_cmdline;
    unsigned memory_mb = 256;
    unsigned cpus = 1;
    std::string accel = "tcg";  // or "kvm"
    std::vector<std::string> devices;  // -device arguments, e.g. "edu"
    std::filesystem::path console_log;
    std::filesystem::path agent_socket;
    std::filesystem::path qmp_socket;  // QEMU's monitor: save, restore, resume
    // QEMU's gdbstub on this Unix socket, for gdb's `target remote`;
    // empty: none. It is no part of the machine: a snapshot saved without
    // it restores with it.
    std::filesystem::path gdb_socket;
    // The guest's RAM in a file (a snapshot's, snapshot_ram.hpp) instead of
    // anonymous memory: mapped shared by a guest that boots to be saved,
    // private (copy-on-write) by one restored from it. Empty: anonymous.
    std::filesystem::path ram_file;
    bool ram_shared = false;
    // A saved machine's stream to start from instead of booting. QEMU
    // waits for migrate-incoming (after the capabilities are set, see
    // incoming_uri()), loads it and stays paused until told to continue.
    // -1: boot.
    int incoming_fd = -1;
    std::filesystem::path qemu_log;  // QEMU's own stdout and stderr
};

// The QEMU binary to run: $KMSDK_QEMU, else qemu-system-x86_64 from PATH.
// Throws, naming the package to install, when there is none.
std::filesystem::path qemu_binary();

std::vector<std::string> qemu_command(const MachineConfig& config);

// The migration URI of the stream MachineConfig::incoming_fd passes.
std::string incoming_uri();

ChildProcess start_qemu(const MachineConfig& config);

// What a saved machine must match to be restored by a QEMU started from
// `config`: the command line (but for the per-run sockets and files), and
// which build of QEMU, its firmware, the kernel and the initramfs (whose
// name is its content's hash, the agent's included) it runs.
std::string machine_identity(const MachineConfig& config);

}  // namespace kmsdk::detail
