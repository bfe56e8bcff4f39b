// SPDX-License-Identifier: GPL-2.0
//
// Saved guests. Once a guest's agent is ready, and before any module
// arrives, the runtime saves the whole machine (QEMU's migration stream)
// into the kernel's cache folder; later guests of the same kernel, QEMU,
// agent, memory size and devices restore it instead of booting, in a
// fraction of the time. This is what `kmsdk snapshots` shows and clears.
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
    std::uintmax_t size = 0;
    std::chrono::system_clock::time_point created{};
    std::chrono::milliseconds save_time{};
    std::string problem;  // why it cannot be restored as it is, or ""
};

// Every snapshot of every cached kernel, newest first.
std::vector<SnapshotInfo> list_snapshots();

// Removes every snapshot of every cached kernel (and leftovers of saves
// that never finished); returns how many files went.
std::size_t clear_snapshots();

}  // namespace kmsdk
