// SPDX-License-Identifier: GPL-2.0
//
// The agent's own messages. They go to the kernel log (/dev/kmsg) as
// "kmsdk-agent: ..." lines: the host reads that log anyway, and with `quiet`
// only the errors reach the console.
#pragma once

#include <string_view>

namespace kmsdk::agent {

// Opens /dev/kmsg for writing; call once /dev is mounted. Before that, and
// if it fails, messages go to stderr.
void open_kernel_log_writer();

// Something went wrong in the agent (user.err: shown on the console).
void log_problem(std::string_view message);
// Worth knowing, not a problem (user.info: kernel log only).
void log_note(std::string_view message);

// One line on /dev/console, for a person watching the guest boot.
void say_on_console(std::string_view line);

}  // namespace kmsdk::agent
