// SPDX-License-Identifier: GPL-2.0
//
// The whole guest suite as CI runs it: `ctest -L guest -j2`, timed.
#pragma once

#include "stats.hpp"

#include <filesystem>

namespace kmsdk::bench {

// Runs `ctest --test-dir <build_dir> -L guest -j<jobs>`, its output in
// `log`, and reads each suite's time from it. A ctest that outlives
// `deadline_s` is killed, with its suites and their guests.
SuiteReport run_guest_suites(const std::filesystem::path& build_dir, unsigned jobs,
                             const std::filesystem::path& log, unsigned deadline_s);

}  // namespace kmsdk::bench
