// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace kmsdk {

// One build of a module: the kernel it was built for and its .ko.
struct BuiltModule {
    std::string release;
    std::filesystem::path ko;
};

// The builds of `file_name` (say "kms_hello.ko") that kmsdk_add_module put
// under modules_dir (KMSDK_MODULES_OUTPUT_DIR, one folder per release), for
// kernels that are in the cache and so can boot: what a test loops over to
// check a module in every kernel it was built for. Newest kernel first.
std::vector<BuiltModule> built_modules(const std::filesystem::path& modules_dir,
                                       std::string_view file_name);

}  // namespace kmsdk
