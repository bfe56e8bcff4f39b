// SPDX-License-Identifier: GPL-2.0
#include "edu_device.hpp"

#include "failure.hpp"
#include "hex.hpp"
#include "kms_edu.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <utility>

namespace kms_edu_ctl {

EduDevice::EduDevice(std::string path)
    : path_{std::move(path)}, fd_{::open(path_.c_str(), O_RDWR | O_CLOEXEC)}
{
    if (!fd_)
        throw syscall_failure("open " + path_);
}

std::uint32_t EduDevice::liveness(std::uint32_t value)
{
    kms_edu_liveness request{.value = value, .inverse = 0};
    if (::ioctl(fd_.get(), KMS_EDU_IOC_LIVENESS, &request) != 0)
        throw syscall_failure("liveness " + hex32(value) + " on " + path_);
    return request.inverse;
}

std::uint32_t EduDevice::factorial(std::uint32_t n)
{
    kms_edu_factorial request{.n = n, .result = 0};
    if (::ioctl(fd_.get(), KMS_EDU_IOC_FACTORIAL, &request) != 0)
        throw syscall_failure("factorial " + std::to_string(n) + " on " + path_);
    return request.result;
}

// No retry on a short count or EINTR: one request is one system call, so
// that what a test sees is what the driver did.
std::size_t EduDevice::write_at(std::span<const std::byte> data, off_t offset)
{
    auto written = ::pwrite(fd_.get(), data.data(), data.size(), offset);
    if (written < 0)
        throw syscall_failure("pwrite " + std::to_string(data.size()) + " bytes at offset " +
                              std::to_string(offset) + " of " + path_);
    return static_cast<std::size_t>(written);
}

std::size_t EduDevice::read_at(std::span<std::byte> data, off_t offset)
{
    auto got = ::pread(fd_.get(), data.data(), data.size(), offset);
    if (got < 0)
        throw syscall_failure("pread " + std::to_string(data.size()) + " bytes at offset " +
                              std::to_string(offset) + " of " + path_);
    return static_cast<std::size_t>(got);
}

}  // namespace kms_edu_ctl
