// SPDX-License-Identifier: GPL-2.0
#include "executable_dir.hpp"

namespace kmsdk::cli {

std::filesystem::path executable_dir()
{
    std::error_code error;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
    return error ? std::filesystem::path{} : exe.parent_path();
}

}  // namespace kmsdk::cli
