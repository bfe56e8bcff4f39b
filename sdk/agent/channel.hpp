// SPDX-License-Identifier: GPL-2.0
//
// The agent's end of the channel: the virtio-serial port named
// proto::port_name, opened once (a second open fails with EBUSY), and the
// frames that travel over it.
//
// The port has two habits the agent is built around (DESIGN.md, "The
// channel"): while no host is connected, reads return end of file at once
// and writes would wait for ever. So end of file is not the end: the agent
// waits for a host to (re)connect, which is also what a restored snapshot
// sees; and every write has a deadline.
#pragma once

#include "kmsdk/protocol.hpp"
#include "fd.hpp"

#include <optional>
#include <string>
#include <vector>

namespace kmsdk::agent {

class Channel {
public:
    // Waits up to wait_ms for the port to appear under
    // /sys/class/virtio-ports and opens its /dev node. Throws
    // std::runtime_error saying what is missing.
    static Channel open_port(int wait_ms);

    const std::string& device() const { return device_; }
    int fd() const { return port_.get(); }

    // The next complete frame, waiting at most timeout_ms; nullopt if none
    // arrived in time, or a signal came. While no host is connected it just
    // waits.
    std::optional<proto::Frame> receive(int timeout_ms);

    // For callers that poll the port themselves (the pty relay): reads what
    // has arrived without waiting. False if nothing came because the host
    // is not connected, in which case poll would not wait: the caller
    // should sleep a little before polling again.
    bool read_available();
    // A frame already complete in the buffer. A corrupt stream is logged and
    // the buffer thrown away; the host decides whether to reboot the guest.
    std::optional<proto::Frame> next_buffered();

    // Writes a whole frame, waiting at most timeout_ms for the host to take
    // it. A frame that cannot be sent in time is dropped and logged: PID 1
    // must not hang on a host that went away. log_drop = false leaves the
    // logging of a frame dropped whole to the caller.
    bool send(const proto::Frame& frame, int timeout_ms = default_send_timeout_ms,
              bool log_drop = true);

    static constexpr int default_send_timeout_ms = 10'000;
    // How long to sleep when the port says the host is not connected.
    static constexpr int disconnected_retry_ms = 5;

private:
    Channel(UniqueFd port, std::string device);
    void note_host_connected(bool connected);

    UniqueFd port_;
    std::string device_;
    proto::FrameReader reader_;
    std::vector<char> read_buffer_;
    bool host_connected_ = true;
    bool stream_corrupt_ = false;
};

}  // namespace kmsdk::agent
