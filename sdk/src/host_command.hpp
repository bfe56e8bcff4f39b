// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace kmsdk::detail {

// What a short host command prints on stdout (its stderr stays ours), for
// the few the library runs to learn something of the host: busybox's
// applet list, the shared libraries a program needs. Throws, with the
// command named, unless it exits 0 within `timeout`; a command that takes
// longer is killed.
std::string output_of(const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout = std::chrono::seconds{20});

// The program of this name in $PATH, as a shell would find it; empty
// when there is none.
std::filesystem::path find_in_path(const std::string& name);

}  // namespace kmsdk::detail
