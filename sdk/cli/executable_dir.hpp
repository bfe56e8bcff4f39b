// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <filesystem>

namespace kmsdk::cli {

// The folder of the running kmsdk binary, where what it ships with is
// found: build/bin in a build tree (beside the programs built with it),
// <prefix>/bin installed. Empty when /proc/self/exe cannot be read.
std::filesystem::path executable_dir();

}  // namespace kmsdk::cli
