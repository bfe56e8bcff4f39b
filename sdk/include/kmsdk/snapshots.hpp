// SPDX-License-Identifier: GPL-2.0
//
// Saved guests. Once a guest's agent is ready, and before any module
// arrives, the runtime saves the whole machine into the kernel's cache
// folder: its RAM as a file of its own, and QEMU's migration stream of
// everything else. Later guests of the same kernel, QEMU, agent, memory
// size and devices restore it instead of booting, in a fraction of the
// time, mapping the RAM file copy-on-write: any number of them share one
// snapshot's pages, and none writes it. This is what `kmsdk snapshots`
// shows, verifies and clears.
//
// Snapshots are used only from a folder the user owns and that neither
// group nor others can write: QEMU does not treat a migration stream as
// trusted input.
#pragma once

#include "kmsdk/kernel.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kmsdk {

// Where a kernel's snapshots live: $KMSDK_SNAPSHOT_DIR/<release> if set,
// else <the kernel's cache folder>/snapshots.
std::filesystem::path snapshot_dir(const Kernel& kernel);

struct SnapshotInfo {
    std::filesystem::path path;
    std::string release;
    std::string machine;  // what it was saved from: memory, devices
    std::string key;      // hash of everything it must match to be restored
    std::uintmax_t size = 0;  // on disk, stream and RAM file together (sparse)
    std::chrono::system_clock::time_point created{};
    std::chrono::milliseconds save_time{};
    std::string problem;  // why it cannot be restored as it is, or ""
};

enum class SnapshotCheck {
    quick,     // the header, the sizes, the RAM file's trailer
    thorough,  // every check a restore makes, and the hash of all the RAM
};

// Every snapshot of every cached kernel, newest first; `problem` as the
// check found it.
std::vector<SnapshotInfo> list_snapshots(SnapshotCheck check = SnapshotCheck::quick);

// Removes every snapshot of every cached kernel (and leftovers of saves
// that never finished); returns how many files went.
std::size_t clear_snapshots();

}  // namespace kmsdk
