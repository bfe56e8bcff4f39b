// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace kmsdk::detail {

// Runs a program the signing code needs (openssl, a kernel's sign-file)
// to its end within `timeout`, its stdout and stderr kept aside: openssl
// prints progress while it makes a key, which is not the user's concern
// unless something fails. When it fails, or is killed at the deadline,
// throws "<what>: <its status>: <what it printed>; <next_step>".
void run_signing_tool(const std::vector<std::string>& argv, std::string_view what,
                      std::string_view next_step,
                      std::chrono::milliseconds timeout = std::chrono::seconds{60});

}  // namespace kmsdk::detail
