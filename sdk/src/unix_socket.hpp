// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "deadline.hpp"
#include "unique_fd.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kmsdk::detail {

// The other end of a socket is gone (QEMU exited, or closed it), or it
// did not appear or take data in time.
class ChannelClosed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A non-blocking connection to a Unix socket that QEMU listens on,
// retrying while QEMU has not created it yet. `what` names it in errors.
UniqueFd connect_unix_socket(const std::filesystem::path& socket, const Deadline& deadline,
                             std::string_view what);

// Sends all of `bytes` on a non-blocking socket, waiting while it is full.
void send_all(int fd, std::string_view bytes, const Deadline& deadline, std::string_view what);

// Appends what arrives on a non-blocking socket to `buffer`, waiting for
// something until the deadline: false if nothing came by then. Throws
// ChannelClosed once the other end has closed.
bool receive_some(int fd, std::string& buffer, const Deadline& deadline, std::string_view what);

}  // namespace kmsdk::detail
