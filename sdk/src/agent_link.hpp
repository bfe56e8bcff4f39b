// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "channel.hpp"
#include "deadline.hpp"
#include "kmsdk/guest.hpp"
#include "kmsdk/proto/messages.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace kmsdk::detail {

// The request did not get its reply by the deadline.
class ReplyTimeout : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The agent answered Error: the request failed, the guest is fine.
class AgentRefused : public std::runtime_error {
public:
    AgentRefused(int error, const std::string& message) : std::runtime_error{message}, error_{error} {}
    int error() const { return error_; }

private:
    int error_;
};

// What a streamed run reports besides the command's status.
struct StreamedExit {
    int status = 0;
    std::chrono::nanoseconds elapsed{};
};

// Where a streamed run learns of signals to deliver: readable when one
// has come, read() gives their numbers, a byte each.
struct SignalWatch {
    int fd = -1;
    std::chrono::milliseconds grace{};
};

// The host's side of the conversation with the agent (sdk/protocol's
// messages.hpp): requests and their replies, and streamed runs. It owns
// the channel; it knows nothing of QEMU, so every failure is thrown for
// the Guest to act on: ChannelClosed (the guest is gone), ProtocolError
// (the stream is broken), ReplyTimeout, AgentRefused, Interrupted.
class AgentLink {
public:
    static AgentLink connect(const std::filesystem::path& socket, const Deadline& deadline);

    // Waits for the agent's Hello, asking again now and then: the one it
    // sends on opening its port may have gone before the host connected.
    // nullopt when `give_up` says so (its reason is the caller's) or the
    // deadline passes. Throws ProtocolMismatch for an agent of another
    // protocol version.
    std::optional<proto::Hello> await_hello(const Deadline& deadline,
                                            const std::function<bool()>& give_up);

    // One request, one reply of type Reply.
    template <class Reply, class Request>
    Reply request(const Request& request, const Deadline& deadline)
    {
        return proto::decode<Reply>(exchange(proto::frame(++next_id_, request), deadline));
    }

    // Starts `run` and relays its streams until it exits. `stop`, asked
    // after each frame, may end the command: it then gets SIGKILL, once.
    StreamedExit stream(const proto::Run& run, Streams& streams, const Deadline& deadline,
                        const SignalWatch& signals, const std::function<bool()>& stop = {});

    // Sends without waiting for a reply (Shutdown).
    void send(const proto::Frame& frame, const Deadline& deadline);
    std::uint32_t next_id() { return ++next_id_; }

    // The guest's side is gone (QEMU exited), though nothing was read yet.
    bool peer_closed() const { return channel_.peer_closed(); }

private:
    explicit AgentLink(Channel channel) : channel_{std::move(channel)} {}
    proto::Frame exchange(const proto::Frame& request, const Deadline& deadline);

    Channel channel_;
    std::uint32_t next_id_ = 0;
};

// An agent that speaks another protocol version.
class ProtocolMismatch : public BootError {
public:
    using BootError::BootError;
};

}  // namespace kmsdk::detail
