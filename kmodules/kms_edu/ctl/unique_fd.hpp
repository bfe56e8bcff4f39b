// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <unistd.h>

#include <utility>

namespace kms_edu_ctl {

// Owns one file descriptor and closes it when dropped. The tool's own:
// like every sample under kmodules/, it uses nothing of the SDK.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) noexcept : fd_{fd} {}
    UniqueFd(UniqueFd&& other) noexcept : fd_{std::exchange(other.fd_, -1)} {}
    UniqueFd& operator=(UniqueFd&& other) noexcept
    {
        if (this != &other) {
            close();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { close(); }

    int get() const noexcept { return fd_; }
    // False when the open() that produced it failed.
    explicit operator bool() const noexcept { return fd_ >= 0; }

private:
    void close() noexcept
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
    }

    int fd_ = -1;
};

}  // namespace kms_edu_ctl
