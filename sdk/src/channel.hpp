// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "deadline.hpp"
#include "kmsdk/proto/frame.hpp"
#include "unique_fd.hpp"
#include "unix_socket.hpp"

#include <filesystem>
#include <optional>
#include <stdexcept>

namespace kmsdk::detail {

// The host's end of the agent's virtio-serial port: a Unix socket that QEMU
// listens on.
class Channel {
public:
    // Connects, retrying while QEMU has not created the socket yet.
    static Channel connect(const std::filesystem::path& socket, const Deadline& deadline);

    void send(const proto::Frame& frame, const Deadline& deadline);
    // The next frame, or nullopt when the deadline passes first. Throws
    // ChannelClosed at end of file and ProtocolError on corrupt frames.
    std::optional<proto::Frame> receive(const Deadline& deadline);
    int fd() const { return fd_.get(); }
    // The guest's side is gone (QEMU exited), though nothing was read yet.
    bool peer_closed() const;

private:
    explicit Channel(UniqueFd fd) : fd_{std::move(fd)} {}
    UniqueFd fd_;
    proto::FrameReader reader_;
};

}  // namespace kmsdk::detail
