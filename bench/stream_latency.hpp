// SPDX-License-Identifier: GPL-2.0
//
// How soon a streamed command's output reaches the host: its first line
// while it still runs, and a line's round trip through the guest (host →
// stdin → `cat` → stdout → host), an upper bound on either one-way trip.
#pragma once

#include "kmsdk/guest.hpp"

#include <vector>

namespace kmsdk::bench {

struct FirstLine {
    double first_ms = 0;  // run() called to "first\n" in the sink
    double whole_ms = 0;  // run() called to its return
};

// `sh -c 'echo first; sleep 1'`, streamed. Throws unless it exits 0
// having printed the line.
FirstLine first_line(Guest& guest);

// One streamed `cat` with a pipe as its stdin: `count` lines, each
// written into the pipe once the one before came back on stdout; the
// milliseconds each took. A line sent before run() starts the command and
// is not counted. Throws when a line is lost or garbled.
std::vector<double> echo_round_trips(Guest& guest, unsigned count);

}  // namespace kmsdk::bench
