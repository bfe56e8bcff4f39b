// SPDX-License-Identifier: GPL-2.0
//
// What making a snapshot costs: guests that each find an empty snapshot
// folder, so each boots cold and saves one (the first run of a kind after
// `kmsdk snapshots clear`, or after a new kernel, QEMU or agent build).
#pragma once

#include <string>
#include <vector>

namespace kmsdk::bench {

struct SnapshotMaking {
    std::vector<double> save_ms;       // BootStats::snapshot_save
    std::vector<double> disk_mb;       // on disk: the .snap file and the sparse RAM file; MB = 10^6 bytes
    std::vector<double> stream_mb;     // of which the .snap file, header and device state
    std::vector<double> construct_ms;  // Guest constructor: cold boot, save, staging
    std::vector<std::string> problems; // guests that saved none, and why
};

// `count` guests of `release` (nothing staged, as `kmsdk run -- true`
// makes them), each with KMSDK_SNAPSHOT_DIR set to a fresh empty folder
// while it is constructed. Throws BootError when one does not come up.
SnapshotMaking measure_snapshot_making(const std::string& release, unsigned count);

}  // namespace kmsdk::bench
