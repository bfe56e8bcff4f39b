// SPDX-License-Identifier: GPL-2.0
#include "executable_dir.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace kmsdk::cli {

std::filesystem::path executable_dir()
{
    std::error_code error;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
    return error ? std::filesystem::path{} : exe.parent_path();
}

std::filesystem::path sdk_script(const char* name)
{
    if (auto bin = executable_dir(); !bin.empty()) {
        auto installed = bin.parent_path() / "share/cmake/kmsdk" / name;
        if (std::filesystem::exists(installed))
            return installed;
    }
    // A build tree runs the source tree's, which kernels.sh is part of.
    return std::filesystem::path{KMSDK_SOURCE_KERNELS_SCRIPT}.parent_path().parent_path() / "sdk/cmake" / name;
}

std::filesystem::path shipped_data(const char* part)
{
    auto bin = executable_dir();
    if (bin.empty())
        throw std::runtime_error(fmt::format("cannot find where kmsdk is installed (/proc/self/exe), "
                                             "and with it its {}: is /proc mounted?", part));
    return bin.parent_path() / "share" / "kmsdk" / part;
}

}  // namespace kmsdk::cli
