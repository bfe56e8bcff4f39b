// SPDX-License-Identifier: GPL-2.0
//
// `kmsdk_bench streaming`: what the streamed Guest::run delivers, on one
// kernel, in one guest, against the calls that came before it measured in
// the same invocation: bulk throughput each way (baseline: Guest::read and
// Guest::write of 1 MiB; ceiling: the guest moving the same bytes without
// the host), how soon a line gets through, the agent's memory during 1 GiB
// of output, and what a forwarded SIGTERM costs (library and `kmsdk run`).
#pragma once

#include "stats.hpp"

#include "kmsdk/kernel.hpp"

#include <cstddef>
#include <filesystem>

namespace kmsdk::bench {

struct StreamingConfig {
    std::filesystem::path kmsdk_cli;  // the `kmsdk` command, for the CLI's signal figure
    unsigned runs = 5;                // rounds; every figure but the 1 GiB run gets one each
    // Each way, each round, with dd at the guest's end (stream_transfer.hpp).
    std::size_t stream_bytes = std::size_t{256} << 20;
    // Out through busybox `head -c`, each round: smaller, as head is slow.
    std::size_t head_bytes = std::size_t{32} << 20;
    std::size_t big_bytes = std::size_t{1} << 30;  // once, with the agent's memory read; 0: skip
    unsigned round_trips = 20;        // lines through `cat`, per round
    // An A/B of the agent: when set, a second guest runs this agent build
    // (cold, so its snapshot does not replace the other's) and each round
    // streams `dd` out through both guests.
    std::filesystem::path baseline_agent;
};

// Measurement errors are recorded in the report, not thrown.
KernelReport streaming_on(const Kernel& kernel, const StreamingConfig& config);

}  // namespace kmsdk::bench
