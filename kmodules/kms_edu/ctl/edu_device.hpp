// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "unique_fd.hpp"

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace kms_edu_ctl {

// An open /dev/kms_edu: one method per request the driver serves. Each
// passes its arguments on exactly as given, and throws Failure with the
// errno when the driver refuses.
class EduDevice {
public:
    explicit EduDevice(std::string path);

    // What the device answered for `value` (~value when it is alive).
    std::uint32_t liveness(std::uint32_t value);
    // n! modulo 2^32, as the device computed it.
    std::uint32_t factorial(std::uint32_t n);
    // One pwrite / pread; the byte count the driver reported.
    std::size_t write_at(std::span<const std::byte> data, off_t offset);
    std::size_t read_at(std::span<std::byte> data, off_t offset);

    const std::string& path() const { return path_; }

private:
    std::string path_;
    UniqueFd fd_;
};

}  // namespace kms_edu_ctl
