// SPDX-License-Identifier: GPL-2.0
//
// liveness and factorial: one ioctl each, the answer printed as the device
// gave it. Checking it is the caller's business (or `exercise`'s).
#include "commands.hpp"
#include "edu_device.hpp"
#include "hex.hpp"

#include <cinttypes>
#include <cstdio>

namespace kms_edu_ctl {

int liveness(const std::string& device, std::uint32_t value)
{
    EduDevice edu{device};
    std::printf("%s\n", hex32(edu.liveness(value)).c_str());
    return 0;
}

int factorial(const std::string& device, std::uint32_t n)
{
    EduDevice edu{device};
    std::printf("%" PRIu32 "\n", edu.factorial(n));
    return 0;
}

}  // namespace kms_edu_ctl
