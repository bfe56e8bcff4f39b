// SPDX-License-Identifier: GPL-2.0
//
// Every figure for one kernel, kmsdk against the naive recipe, and kmsdk
// warm (restoring a snapshot) against kmsdk cold (booting), measured in the
// same invocation and interleaved run by run: on a noisy machine only
// ratios taken side by side mean something.
#pragma once

#include "stats.hpp"

#include "kmsdk/kernel.hpp"

#include <cstddef>
#include <filesystem>
#include <string>

namespace kmsdk::bench {

struct BenchConfig {
    std::filesystem::path kmsdk_cli;    // the `kmsdk` command to time
    // <dir>/<release>/kms_hello.ko, and kms_fault_oops.ko for the recovery
    std::filesystem::path modules_dir;
    std::string accel = "tcg";
    unsigned runs = 10;   // boots of each kind, and recoveries after an Oops
    unsigned ops = 200;   // round trips and cycles in one booted guest
    unsigned snapshots = 3;  // guests that each make a snapshot
    std::size_t transfer_bytes = std::size_t{1} << 20;
};

// Measurement errors are recorded in the report, not thrown.
KernelReport compare_on(const Kernel& kernel, const BenchConfig& config);

}  // namespace kmsdk::bench
