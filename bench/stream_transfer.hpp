// SPDX-License-Identifier: GPL-2.0
//
// Bulk data through a streamed Guest::run, each way, and what the guest
// itself manages without the host in the path (the ceiling a streamed run
// cannot beat). MB is 10^6 bytes.
//
// The guest's busybox `head -c` and `wc -c` move a byte at a time through
// stdio, which under TCG is slower than the channel: `dd` with 64 KiB
// blocks is the writer and reader that show what the path itself carries.
#pragma once

#include "kmsdk/guest.hpp"

#include <chrono>
#include <cstddef>
#include <string>

namespace kmsdk::bench {

struct Transfer {
    std::size_t bytes = 0;
    double host_ms = 0;   // Guest::run's call, host wall time
    double guest_ms = 0;  // CommandResult::elapsed: the command's own life in the guest
    double host_mb_s() const;
    double guest_mb_s() const;
};

// dd's block in every dd the bench runs: a pipe's capacity.
constexpr std::size_t dd_block = std::size_t{64} * 1024;

// `dd if=/dev/zero bs=64k count=…` writing `bytes` (a multiple of dd_block).
std::string dd_zeros(std::size_t bytes);
// `dd of=/dev/null bs=64k iflag=fullblock`: full blocks, so the record
// count it reports says how many bytes it read.
std::string dd_sink();

// `line` (writing `bytes` to stdout), streamed into a sink that only
// counts. Throws unless it exits 0 having delivered exactly `bytes`.
Transfer stream_out(Guest& guest, const std::string& line, std::size_t bytes);

// dd_sink() reading `input` (bytes' worth) as its stdin; throws unless it
// exits 0 and read exactly `bytes`.
Transfer stream_into_dd(Guest& guest, InputSource input, std::size_t bytes);

// A collected run of `line`, which moves `bytes` inside the guest only
// (`… >/dev/null`, `… | dd …`); throws unless it exits 0 and, with
// `ends_in_dd_sink`, its dd_sink() read all `bytes`.
Transfer in_guest_only(Guest& guest, const std::string& line, std::size_t bytes,
                       bool ends_in_dd_sink = false);

// Generous deadline for moving `bytes`: a stalled stream still ends the bench.
std::chrono::milliseconds transfer_timeout(std::size_t bytes);

}  // namespace kmsdk::bench
