// SPDX-License-Identifier: GPL-2.0
//
// The whole guest suite as CI runs it, `ctest -L guest -j2`, timed: once
// with the guests restoring snapshots (warm) and once booting every guest
// from scratch (cold, KMSDK_COLD=1 in ctest's environment).
#pragma once

#include "stats.hpp"

#include <filesystem>

namespace kmsdk::bench {

// Runs `ctest --test-dir <build_dir> -L guest -LE cold -j<jobs>`, its
// output in `log`, and reads each suite's time from it. The suites labelled
// `cold` are left out: they repeat others with KMSDK_COLD=1 set, so both
// modes run the same tests. With `cold`, KMSDK_COLD=1 is in ctest's
// environment, else KMSDK_COLD is removed from it. A ctest that outlives
// `deadline_s` is killed, with its suites and their guests.
SuiteReport run_guest_suites(const std::filesystem::path& build_dir, unsigned jobs,
                             const std::filesystem::path& log, unsigned deadline_s, bool cold);

}  // namespace kmsdk::bench
