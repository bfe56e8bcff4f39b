// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "deadline.hpp"
#include "machine.hpp"
#include "qemu.hpp"
#include "snapshot_store.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace kmsdk::detail {

// One guest's use of its snapshot (kmsdk/snapshots.hpp): which file is its
// machine's, restoring from it, and making it when it is missing. A broken
// snapshot is reported once, as a notice, and then replaced by a cold boot.
class SnapshotSession {
public:
    using Notice = std::function<void(const std::string&)>;

    // The slot of the machine `config` starts: one per memory size,
    // devices and kernel command line, in the kernel's snapshot folder;
    // its key covers everything else it must match.
    SnapshotSession(const MachineConfig& config, const std::filesystem::path& dir, Notice notice);

    // Starts QEMU from the snapshot and waits for the agent. nullopt (after
    // a notice if the snapshot is broken) when there is no usable one.
    std::optional<Machine> restore(const MachineConfig& config, std::chrono::milliseconds timeout,
                                   const WaitCheck& check);

    // The right to make the missing (or broken) snapshot. Another run may
    // be making it: this waits for that one. nullopt when it takes too long
    // (this run then boots cold without saving). `check` may throw to end
    // the wait, as it does while QEMU starts.
    std::optional<SnapshotLock> claim(std::chrono::milliseconds patience, const WaitCheck& check);

    // Saves the machine that just came up, agent ready and nothing staged.
    // The guest stands still meanwhile. How long it took, or nullopt (after
    // a notice) when it could not be saved: the guest goes on either way.
    std::optional<std::chrono::nanoseconds> save(const MachineConfig& config);

private:
    void unusable(std::string why);

    std::filesystem::path path_;
    std::string key_;
    std::string machine_;
    std::string reported_broken_;  // identity of the file said broken
    Notice notice_;
};

}  // namespace kmsdk::detail
