// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace kms_edu_ctl {

// Something the tool could not do; main prints "kms-edu-ctl: <what>" on
// stderr and exits 1.
class Failure : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A system call that failed, worded "<what>: <strerror>" so that a test can
// match the errno the driver chose. Build it right after the call, while
// errno still holds its answer.
inline Failure syscall_failure(const std::string& what, int error = errno)
{
    return Failure{what + ": " + std::strerror(error)};
}

}  // namespace kms_edu_ctl
