// SPDX-License-Identifier: GPL-2.0
//
// Consecutive boots with the other core busy: does every guest come up,
// and how many needed the runtime's retry? Every guest boots cold
// (GuestOptions::cold()): a restore from a snapshot skips the very boot
// whose robustness this measures.
#pragma once

#include "stats.hpp"

#include <string>
#include <vector>

namespace kmsdk::bench {

struct StressOptions {
    std::vector<std::string> kernels;  // releases, taken in turn
    unsigned boots = 200;
    int busy_cpu = -1;  // -1: the last CPU
    // A boot slower than this (QEMU start to agent) gets its kernel log
    // read for the report.
    double slow_ms = 5000;
};

// Boots `boots` guests one after another (construct, run `true`, drop)
// while a child spins pinned to `busy_cpu`. Failures are counted, not thrown.
StressReport run_stress(const StressOptions& options);

}  // namespace kmsdk::bench
