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
#include <string_view>

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

    // The session of this machine's staged snapshot: the same machine once
    // what `staging` (a hash, StagingPlan::hash()) stands for has been
    // staged into it. Its files are in the staged/ folder beside this
    // session's snapshot, which keeps what they take on disk within
    // `limit` bytes, removing the least recently restored first.
    SnapshotSession staged(std::string_view staging, std::uint64_t limit) const;

    // The folder its files are in.
    std::filesystem::path folder() const { return path_.parent_path(); }

    struct Making;

    // Starts QEMU from the snapshot and waits for the agent. nullopt (after
    // a notice if the snapshot is broken) when there is no usable one.
    // With `into` (another session's prepare()), the guest runs on a copy
    // of the snapshot's RAM in `into`'s RAM file, mapped shared, so that
    // it can be saved as that snapshot; when there is no room for the copy
    // it says so, empties `into`, and restores as without it.
    std::optional<Machine> restore(const MachineConfig& config, std::chrono::milliseconds timeout,
                                   const WaitCheck& check, Making* into = nullptr);

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
    SnapshotSession() = default;
    void unusable(std::string why);
    void cannot_save(const std::string& why);

    std::filesystem::path path_;
    std::string key_;
    std::string machine_;
    std::string reported_broken_;  // identity of the file said broken
    std::optional<std::uint64_t> disk_limit_;  // for the snapshots in path_'s folder
    Notice notice_;
};

}  // namespace kmsdk::detail
