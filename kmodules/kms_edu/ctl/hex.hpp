// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace kms_edu_ctl {

// 0x%08x: how the device's 32-bit patterns are printed everywhere.
inline std::string hex32(std::uint32_t value)
{
    char text[11];
    std::snprintf(text, sizeof text, "0x%08x", value);
    return text;
}

}  // namespace kms_edu_ctl
