// SPDX-License-Identifier: GPL-2.0
#include "kmsdk/built_modules.hpp"

#include "kmsdk/kernel.hpp"

namespace kmsdk {

std::vector<BuiltModule> built_modules(const std::filesystem::path& modules_dir,
                                       std::string_view file_name)
{
    std::vector<BuiltModule> built;
    for (const auto& kernel : Kernel::list()) {
        auto ko = modules_dir / kernel.release() / file_name;
        if (std::filesystem::is_regular_file(ko))
            built.push_back({kernel.release(), std::move(ko)});
    }
    return built;
}

}  // namespace kmsdk
