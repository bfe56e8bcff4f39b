// SPDX-License-Identifier: GPL-2.0
//
// The relay of a running command: its output to the host as Output
// frames, the host's Input to its stdin, Signal to its process group, and
// Exited at the end, each way under the window that messages.hpp
// describes. run.cpp starts the command; this takes it from there.
#pragma once

#include "fd.hpp"
#include "process.hpp"

#include <cstdint>

namespace kmsdk::agent {

class Channel;

// A command started for a Run, its ends of the descriptors the agent
// keeps. On a pseudo-terminal the input and the output are both its master.
struct RunningCommand {
    ChildProcess process;  // leads its own session and process group
    std::uint64_t started_ns = 0;  // just before the fork
    UniqueFd input;   // its stdin; none if that is /dev/null
    UniqueFd output;  // its stdout, or the terminal
    UniqueFd errors;  // its stderr; none on a terminal
    bool on_terminal = false;
};

// Relays until the command has exited, what it wrote is sent, and Exited
// (the Run's last frame) has gone to the host. Any other request meanwhile
// gets Error EBUSY: the agent serves one request at a time. Throws only if
// the agent itself fails (poll does); the command is then killed.
void relay(Channel& channel, std::uint32_t id, RunningCommand command);

}  // namespace kmsdk::agent
