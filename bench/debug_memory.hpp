// SPDX-License-Identifier: GPL-2.0
//
// What --debug-memory costs, A/B on one kernel in one invocation: warm
// `kmsdk run -- true` with KMSDK_DEBUG_MEMORY=1 against without, and the
// stacking guest suite (insmod, rmmod, modprobe and their checks: a
// module's everyday work) the same two ways, alternating.
#pragma once

#include "stats.hpp"

#include "kmsdk/kernel.hpp"

#include <filesystem>

namespace kmsdk::bench {

struct DebugMemoryConfig {
    std::filesystem::path kmsdk_cli;
    std::filesystem::path build_dir;  // where bin/guest_stacking is
    unsigned runs = 10;               // warm runs each way
    unsigned suite_runs = 3;          // suite runs each way
};

KernelReport debug_memory_on(const Kernel& kernel, const DebugMemoryConfig& config);

}  // namespace kmsdk::bench
