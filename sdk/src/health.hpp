// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "kmsdk/guest.hpp"
#include "kmsdk/kernel_log.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kmsdk::detail {

// What the kernel has said since the last health check: where in its log
// the check stands, the taint it saw then, and what a guest that died
// between checks printed on its console.
class HealthWatch {
public:
    // Starts from here: the boot's own messages are not the tests'.
    void baseline(std::uint64_t next_seq, std::uint64_t taint);
    std::uint64_t next_seq() const { return next_seq_; }

    // The report from the log read since next_seq(), moving past it.
    HealthReport update(const std::vector<KernelLogRecord>& records, std::uint64_t next_seq,
                        std::uint64_t taint);
    // The report when the agent cannot be asked: from the console.
    HealthReport from_console(std::string_view console);
    // A guest that went away by itself: its console's problems wait for
    // the next report.
    void keep_for_next_report(std::string_view console);

private:
    std::uint64_t next_seq_ = 0;
    std::uint64_t taint_ = 0;
    std::vector<std::string> unreported_;
};

// The problems the kernel printed on its console, then its last lines: a
// panic's headline can be far above the end of its stack dump.
std::string crash_report(std::string_view console);

}  // namespace kmsdk::detail
