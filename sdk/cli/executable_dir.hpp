// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <filesystem>

namespace kmsdk::cli {

// The folder of the running kmsdk binary, where what it ships with is
// found: build/bin in a build tree (beside the programs built with it),
// <prefix>/bin installed. Empty when /proc/self/exe cannot be read.
std::filesystem::path executable_dir();

// A script of the SDK's that the command runs (kmsdk-lint.sh,
// kmsdk-toolchain.sh): installed beside the build API in
// <prefix>/share/cmake/kmsdk/, else the source tree's sdk/cmake/ for a
// build tree's kmsdk.
std::filesystem::path sdk_script(const char* name);

// What kmsdk ships in <prefix>/share/kmsdk/<part> (templates, labs), in a
// build tree as installed.
std::filesystem::path shipped_data(const char* part);

}  // namespace kmsdk::cli
