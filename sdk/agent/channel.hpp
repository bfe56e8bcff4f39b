// SPDX-License-Identifier: GPL-2.0
//
// The agent's end of the channel: the virtio-serial port named
// proto::port_name, opened once (a second open fails with EBUSY), and the
// frames that travel over it.
//
// The port has two habits the agent is built around (docs/DESIGN.md, "The
// channel"): while no host is connected, reads return end of file at once
// and writes would wait for ever. So end of file is not the end: the agent
// waits for a host to (re)connect, which is also what a restored snapshot
// sees; and a reply's write has a deadline. A running command's frames
// have none: they wait in a queue that the relay flushes as the port takes
// them, so a stream is never cut short.
#pragma once

#include "kmsdk/proto/frame.hpp"
#include "byte_queue.hpp"
#include "fd.hpp"

#include <cstddef>
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

    // For callers that poll the port themselves (the relay): reads what
    // has arrived without waiting. False if nothing came because the host
    // is not connected, in which case poll would not wait: the caller
    // should sleep a little before polling again.
    bool read_available();
    // Whether the last read or write found a host on the other side. While
    // none is, poll reports POLLHUP at once: a caller that polls the port
    // itself leaves it out and retries on a timer instead.
    bool host_connected() const { return host_connected_; }
    // A frame already complete in the buffer. A corrupt stream is logged and
    // the buffer thrown away; the host decides whether to reboot the guest.
    std::optional<proto::Frame> next_buffered();

    // Writes a whole frame, after anything still queued, waiting at most
    // timeout_ms for the host to take it. What cannot be sent in time is
    // dropped and logged: PID 1 must not hang on a host that went away.
    // log_drop = false leaves the logging of a frame dropped whole to the
    // caller.
    bool send(const proto::Frame& frame, int timeout_ms = default_send_timeout_ms,
              bool log_drop = true);

    // The relay's way out: frames go out in order as the port takes them,
    // and none is ever dropped. The queue is unbounded here; its user
    // bounds it (by the output window).
    void queue(const proto::Frame& frame);
    // The same for a payload built in place: room for payload_capacity
    // bytes at the queue's end, valid until the queue next changes; then
    // commit_frame with what was written there.
    char* prepare_frame(std::size_t payload_capacity);
    void commit_frame(proto::Type type, std::uint32_t id, std::size_t payload_size);
    // Writes what the port takes now, without waiting. True when nothing
    // is left queued; otherwise poll the port for POLLOUT and call again.
    bool flush_queued();
    bool has_queued() const { return !outbound_.empty(); }
    std::size_t queued_bytes() const { return outbound_.size(); }
    // The last write failed with something other than EAGAIN; poll may
    // report POLLOUT regardless, so retry on a timer.
    bool write_failing() const { return write_failing_; }

    static constexpr int default_send_timeout_ms = 10'000;
    // How long to sleep when the port says the host is not connected.
    static constexpr int disconnected_retry_ms = 5;

private:
    Channel(UniqueFd port, std::string device);
    void note_host_connected(bool connected);
    // Drops whatever is queued, `last` (of last_size bytes) at its end,
    // saying what was lost.
    void drop_queued(const proto::Frame& last, std::size_t last_size, int waited_ms,
                     bool log_drop, const char* reason);

    UniqueFd port_;
    std::string device_;
    proto::FrameReader reader_;
    std::vector<char> read_buffer_;
    bool host_connected_ = true;
    bool stream_corrupt_ = false;
    bool write_failing_ = false;  // logs a failing port once, not per write

    // Encoded frames end to end. One buffer, not a frame each: the port
    // takes at most 32 KiB per write, and a write that spans frames saves
    // the small one a frame's tail would be.
    ByteQueue outbound_;
};

}  // namespace kmsdk::agent
