// SPDX-License-Identifier: GPL-2.0
#include "agent_memory.hpp"

#include <fmt/format.h>

#include <sstream>
#include <stdexcept>
#include <string>

namespace kmsdk::bench {
namespace {

// "VmHWM:\t    1234 kB" → 1234 × 1024 bytes, in MB.
double field_mb(const std::string& status, const std::string& name)
{
    std::istringstream lines{status};
    for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with(name + ":"))
            continue;
        std::istringstream fields{line.substr(name.size() + 1)};
        double kib = 0;
        std::string unit;
        if (fields >> kib >> unit && unit == "kB")
            return kib * 1024 / 1e6;
    }
    throw std::runtime_error(fmt::format("/proc/1/status has no {} line in kB:\n{}", name, status));
}

}  // namespace

AgentMemory agent_memory(Guest& guest)
{
    auto status = guest.read("/proc/1/status");
    return {field_mb(status, "VmHWM"), field_mb(status, "VmRSS")};
}

bool reset_agent_peak(Guest& guest)
{
    try {
        guest.write("/proc/1/clear_refs", "5");
        return true;
    } catch (const GuestCrashed&) {
        throw;
    } catch (const GuestError&) {  // the kernel's refusal, an errno
        return false;
    }
}

}  // namespace kmsdk::bench
