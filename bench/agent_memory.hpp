// SPDX-License-Identifier: GPL-2.0
//
// The guest agent's memory (PID 1), from /proc/1/status: flow control is
// meant to keep it flat whatever a command writes.
#pragma once

#include "kmsdk/guest.hpp"

#include <optional>

namespace kmsdk::bench {

struct AgentMemory {
    double hwm_mb = 0;  // VmHWM: peak resident set; MB = 10^6 bytes
    double rss_mb = 0;  // VmRSS: resident now
};

// Read through Guest::read, which the agent serves itself.
AgentMemory agent_memory(Guest& guest);

// Writes 5 to /proc/1/clear_refs, which resets VmHWM to the current RSS,
// so that a peak read afterwards belongs to what ran since. False when the
// kernel refused.
bool reset_agent_peak(Guest& guest);

}  // namespace kmsdk::bench
