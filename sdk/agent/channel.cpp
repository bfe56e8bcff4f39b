// SPDX-License-Identifier: GPL-2.0
#include "channel.hpp"

#include "log.hpp"
#include "system.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

namespace kmsdk::agent {
namespace {

constexpr const char* virtio_ports_dir = "/sys/class/virtio-ports";
// What the outbound queue keeps once emptied: more than a running
// command's output window (1 MiB) and its last frame, so a stream reuses
// one buffer, and less than a large file would leave behind.
constexpr std::size_t kept_outbound_capacity = std::size_t{2} << 20;

// The entry (e.g. "vport1p1") whose name attribute is ours. virtio_console
// creates that attribute when QEMU tells it the port's name, after the
// device itself, so it can lag the entry by a moment.
std::optional<std::string> find_port_entry()
{
    for (const auto& entry : list_directory(virtio_ports_dir))
        if (read_sysfs_value(std::string{virtio_ports_dir} + "/" + entry + "/name") ==
            proto::port_name)
            return entry;
    return std::nullopt;
}

int milliseconds_until(std::uint64_t deadline_ns)
{
    auto now = monotonic_ns();
    return now >= deadline_ns ? 0 : static_cast<int>((deadline_ns - now + 999'999) / 1'000'000);
}

void sleep_ms(int ms)
{
    ::usleep(static_cast<useconds_t>(ms) * 1000);
}

}  // namespace

Channel::Channel(UniqueFd port, std::string device)
    : port_{std::move(port)}, device_{std::move(device)}, read_buffer_(std::size_t{256} * 1024)
{
}

Channel Channel::open_port(int wait_ms)
{
    const auto deadline = monotonic_ns() + static_cast<std::uint64_t>(wait_ms) * 1'000'000;
    for (;;) {
        if (auto entry = find_port_entry()) {
            std::string device = "/dev/" + *entry;
            UniqueFd port{::open(device.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)};
            if (port)
                return Channel{std::move(port), device};
            // devtmpfs may not have the node yet; anything else is final.
            if (errno != ENOENT)
                throw std::runtime_error("cannot open the agent's port " + device + ": " +
                                         errno_text(errno));
        }
        if (monotonic_ns() >= deadline)
            throw std::runtime_error(
                "no virtio-serial port named " + std::string{proto::port_name} + " appeared in " +
                std::to_string(wait_ms) +
                " ms: QEMU needs -device virtio-serial-pci and -device virtserialport,name=" +
                std::string{proto::port_name} +
                ", and the kernel virtio_pci and virtio_console (see /etc/kmsdk/channel-modules)");
        sleep_ms(5);
    }
}

void Channel::note_host_connected(bool connected)
{
    if (connected == host_connected_)
        return;
    host_connected_ = connected;
    log_note(connected ? "host connected" : "host not connected; waiting for it");
}

bool Channel::read_available()
{
    bool received = false;
    for (;;) {
        ssize_t got = ::read(port_.get(), read_buffer_.data(), read_buffer_.size());
        if (got > 0) {
            received = true;
            reader_.feed(read_buffer_.data(), static_cast<std::size_t>(got));
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && errno == EAGAIN) {
            note_host_connected(true);
            return true;
        }
        if (got < 0) {
            log_problem("cannot read the port " + device_ + ": " + errno_text(errno));
            return received;
        }
        // End of file: virtio_console has no host connected. That can lag
        // the data: a reconnecting host's first frame may be read before the
        // "host connected" message is processed, and then the next read
        // says end of file. So what is buffered stays; if a departed host
        // did leave half a frame, the next frame fails its checks and the
        // buffer is reset then.
        if (!received)
            note_host_connected(false);
        return received;
    }
}

std::optional<proto::Frame> Channel::next_buffered()
{
    try {
        auto frame = reader_.next();
        if (frame)
            stream_corrupt_ = false;
        return frame;
    } catch (const proto::ProtocolError& error) {
        // Logged once per run of garbage, not once per read.
        if (!stream_corrupt_)
            log_problem(std::string{error.what()} + "; discarding what was received");
        stream_corrupt_ = true;
        reader_ = proto::FrameReader{};
        return std::nullopt;
    }
}

std::optional<proto::Frame> Channel::receive(int timeout_ms)
{
    const auto deadline = monotonic_ns() + static_cast<std::uint64_t>(timeout_ms) * 1'000'000;
    for (;;) {
        if (auto frame = next_buffered())
            return frame;
        int left = milliseconds_until(deadline);
        if (left == 0)
            return std::nullopt;
        pollfd port{port_.get(), POLLIN, 0};
        int ready = ::poll(&port, 1, left);
        if (ready < 0 && errno == EINTR)
            return std::nullopt;  // a signal for the main loop to act on
        if (ready < 0) {
            log_problem("cannot poll the port: " + errno_text(errno));
            sleep_ms(disconnected_retry_ms);
            continue;
        }
        if (ready > 0 && !read_available())
            sleep_ms(std::min(disconnected_retry_ms, left));
    }
}

bool Channel::send(const proto::Frame& frame, int timeout_ms, bool log_drop)
{
    const std::size_t queued_before = queued_bytes();
    try {
        queue(frame);
    } catch (const proto::ProtocolError& error) {
        log_problem(std::string{"cannot send a "} + proto::type_name(frame.type) + ": " +
                    error.what());
        return false;
    }
    const std::size_t size = queued_bytes() - queued_before;

    const auto deadline = monotonic_ns() + static_cast<std::uint64_t>(timeout_ms) * 1'000'000;
    bool host_absent = false;  // poll said POLLHUP: nobody on the other side
    while (!flush_queued()) {
        int left = milliseconds_until(deadline);
        if (left == 0) {
            drop_queued(frame, size, timeout_ms, log_drop,
                        host_absent ? "no host is connected" : "the host is not reading");
            return false;
        }
        if (write_failing_) {
            sleep_ms(std::min(disconnected_retry_ms, left));
            continue;
        }
        pollfd port{port_.get(), POLLOUT, 0};
        int ready = ::poll(&port, 1, left);
        // Without a host, poll reports POLLHUP at once instead of waiting.
        host_absent = ready > 0 && (port.revents & POLLHUP);
        if (ready >= 0 && !(port.revents & POLLOUT))
            sleep_ms(std::min(disconnected_retry_ms, left));
    }
    return true;
}

void Channel::drop_queued(const proto::Frame& last, std::size_t last_size, int waited_ms,
                          bool log_drop, const char* reason)
{
    const std::size_t left = queued_bytes();
    outbound_.clear();
    if (!log_drop && left == last_size)
        return;
    std::string what = std::string{"dropped a "} + proto::type_name(last.type) + " frame (id " +
                       std::to_string(last.id) + ") after " + std::to_string(waited_ms) +
                       " ms: " + reason;
    if (left < last_size)
        what += "; the stream is now out of step (" + std::to_string(last_size - left) + " of " +
                std::to_string(last_size) + " bytes went)";
    else if (left > last_size)
        what += "; with it " + std::to_string(left - last_size) +
                " bytes queued before it (the stream may be out of step)";
    log_problem(what);
}

void Channel::queue(const proto::Frame& frame)
{
    char* header = outbound_.prepare(proto::header_size + frame.payload.size());
    proto::encode_header(header, frame.type, frame.id, frame.payload);
    std::copy(frame.payload.begin(), frame.payload.end(), header + proto::header_size);
    outbound_.commit(proto::header_size + frame.payload.size());
}

char* Channel::prepare_frame(std::size_t payload_capacity)
{
    return outbound_.prepare(proto::header_size + payload_capacity) + proto::header_size;
}

void Channel::commit_frame(proto::Type type, std::uint32_t id, std::size_t payload_size)
{
    // The room prepare_frame() gave: the end of the queue, not yet committed.
    char* header = outbound_.prepare(proto::header_size + payload_size);
    proto::encode_header(header, type, id, {header + proto::header_size, payload_size});
    outbound_.commit(proto::header_size + payload_size);
}

bool Channel::flush_queued()
{
    while (has_queued()) {
        // virtio_console takes at most 32 KiB per write.
        auto queued = outbound_.front();
        ssize_t wrote = ::write(port_.get(), queued.data(), queued.size());
        if (wrote > 0) {
            outbound_.consume(static_cast<std::size_t>(wrote));
            write_failing_ = false;
            note_host_connected(true);  // only a connected host takes data
            continue;
        }
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote < 0 && errno != EAGAIN) {
            // Not expected of the port (unplugged?). poll may keep saying
            // POLLOUT: callers retry on a timer until it works again.
            if (!write_failing_)
                log_problem("cannot write to the port " + device_ + ": " + errno_text(errno) +
                            "; retrying");
            write_failing_ = true;
        }
        return false;
    }
    // Its memory too once past a window's worth: the last frame may have
    // been a file of many MiB.
    outbound_.clear(kept_outbound_capacity);
    return true;
}

}  // namespace kmsdk::agent
