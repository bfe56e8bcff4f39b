// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "deadline.hpp"
#include "machine.hpp"
#include "qemu.hpp"
#include "snapshot_store.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
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

    // A cold boot that is to become the snapshot: its machine's RAM is the
    // new snapshot's RAM file. nullopt, after a notice, when there is no
    // room for one; the caller boots as it would without.
    struct Making {
        std::unique_ptr<SnapshotWriter> writer;
        MachineConfig config;  // boot this, then save()
    };
    std::optional<Making> prepare(const MachineConfig& config);

    // What save() did: how long it took, or, after a notice that it could
    // not save, the machine, which goes on (its RAM file is then out of
    // the folder, but still mapped).
    struct Saved {
        std::optional<std::chrono::nanoseconds> took;
        std::optional<Machine> machine;
    };
    // Saves the machine that just came up from `making.config`, agent
    // ready and nothing staged, and commits the snapshot. A saved machine
    // ends: its RAM now belongs to the snapshot, which the caller restores.
    Saved save(Machine machine, Making making);

private:
    void unusable(std::string why);
    void cannot_save(const std::string& why);

    std::filesystem::path path_;
    std::string key_;
    std::string machine_;
    std::string reported_broken_;  // identity of the file said broken
    Notice notice_;
};

}  // namespace kmsdk::detail
