// SPDX-License-Identifier: GPL-2.0
#include "memory_debugging.hpp"

#include <cstdlib>
#include <string_view>

namespace kmsdk::detail {

std::vector<std::string> memory_debugging_parameters(const Kernel& kernel)
{
    std::vector<std::string> parameters;
    if (kernel.config_enabled("CONFIG_SLUB_DEBUG"))
        parameters.emplace_back("slub_debug=FZPU");
    if (kernel.config_enabled("CONFIG_KFENCE"))
        parameters.emplace_back("kfence.sample_interval=1");
    if (kernel.config_enabled("CONFIG_PAGE_POISONING"))
        parameters.emplace_back("page_poison=1");
    parameters.emplace_back("init_on_free=1");
    return parameters;
}

bool memory_debugging_by_environment()
{
    const char* chosen = std::getenv("KMSDK_DEBUG_MEMORY");
    return chosen && *chosen && std::string_view{chosen} != "0";
}

}  // namespace kmsdk::detail
