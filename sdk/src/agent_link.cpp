// SPDX-License-Identifier: GPL-2.0
#include "agent_link.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <string_view>
#include <unistd.h>

namespace kmsdk::detail {
namespace {

using namespace std::chrono_literals;

// Output consumed is granted back in batches this large (or when the
// stream goes quiet), so Window frames stay few beside the data.
constexpr std::uint32_t window_batch = proto::initial_window / 4;

// The next signal number the watch holds, if one has come.
std::optional<int> take_signal(int fd)
{
    unsigned char number = 0;
    if (fd >= 0 && ::read(fd, &number, 1) == 1)
        return number;
    return std::nullopt;
}

// Where a streamed run's stdin comes from, read only as the agent's
// window allows.
class InputFeed {
public:
    InputFeed(const InputSource& source, bool wanted)
        : fd_{source.fd()}, bytes_{source.data()}, done_{!wanted}
    {
    }

    // The descriptor to wait on, -1 when there is nothing to wait for.
    int poll_fd() const { return !done_ && fd_ >= 0 && credit_ > 0 ? fd_ : -1; }
    void grant(std::uint32_t bytes) { credit_ += bytes; }

    // Sends what may go now: all of an in-memory source the window takes,
    // or one read of the descriptor when `readable`.
    void pump(Channel& channel, std::uint32_t id, const Deadline& deadline, bool readable)
    {
        if (done_)
            return;
        if (fd_ < 0) {
            while (credit_ > 0 && !bytes_.empty()) {
                auto size = std::min<std::size_t>({bytes_.size(), credit_, proto::max_chunk});
                send(channel, id, bytes_.substr(0, size), deadline);
                bytes_.remove_prefix(size);
            }
            if (bytes_.empty())
                finish(channel, id, deadline);
            return;
        }
        if (!readable || credit_ == 0)
            return;
        std::string chunk(std::min<std::size_t>(credit_, proto::max_chunk), '\0');
        auto got = ::read(fd_, chunk.data(), chunk.size());
        if (got < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (got <= 0) {
            // End of file, or a descriptor that cannot be read (a closed
            // stdin): either way the command's input ends here.
            finish(channel, id, deadline);
            return;
        }
        chunk.resize(static_cast<std::size_t>(got));
        send(channel, id, chunk, deadline);
    }

private:
    void send(Channel& channel, std::uint32_t id, std::string_view data, const Deadline& deadline)
    {
        channel.send(proto::frame(id, proto::Input{std::string{data}, false}), deadline);
        credit_ -= static_cast<std::uint32_t>(data.size());
    }
    void finish(Channel& channel, std::uint32_t id, const Deadline& deadline)
    {
        channel.send(proto::frame(id, proto::Input{{}, true}), deadline);
        done_ = true;
    }

    int fd_;
    std::string_view bytes_;
    bool done_;
    std::uint32_t credit_ = proto::initial_window;
};

}  // namespace

AgentLink AgentLink::connect(const std::filesystem::path& socket, const Deadline& deadline)
{
    return AgentLink{Channel::connect(socket, deadline)};
}

std::optional<proto::Hello> AgentLink::await_hello(const Deadline& deadline,
                                                   const std::function<bool()>& give_up)
{
    auto next_ping = std::chrono::steady_clock::now();
    for (;;) {
        if (std::chrono::steady_clock::now() >= next_ping) {
            channel_.send(proto::frame(0, proto::Ping{}), deadline);
            next_ping += 250ms;
        }
        auto frame = channel_.receive(deadline.expired() ? deadline : Deadline{50ms});
        if (frame && frame->type == proto::Type::Hello) {
            auto version = proto::announced_version(*frame);
            if (version != proto::protocol_version)
                throw ProtocolMismatch(fmt::format(
                    "the guest's agent speaks protocol version {}, this kmsdk version {}: "
                    "rebuild the agent with this kmsdk ('cmake --build build --target kmsdk-agent'), "
                    "or unset KMSDK_AGENT if it points at another build",
                    version, proto::protocol_version));
            return proto::decode<proto::Hello>(*frame);
        }
        if (deadline.expired() || give_up())
            return std::nullopt;
    }
}

void AgentLink::send(const proto::Frame& frame, const Deadline& deadline)
{
    channel_.send(frame, deadline);
}

proto::Frame AgentLink::exchange(const proto::Frame& request, const Deadline& deadline)
{
    channel_.send(request, deadline);
    while (auto reply = channel_.receive(deadline)) {
        if (reply->id != request.id)
            continue;  // a late Hello, or the reply to a request given up on
        if (reply->type == proto::Type::Error) {
            auto error = proto::decode<proto::Error>(*reply);
            throw AgentRefused(error.error, error.message);
        }
        return std::move(*reply);
    }
    throw ReplyTimeout(fmt::format("no reply to {} within {} ms", proto::type_name(request.type),
                                   std::chrono::duration_cast<std::chrono::milliseconds>(
                                       deadline.budget()).count()));
}

StreamedExit AgentLink::stream(const proto::Run& run, Streams& streams, const Deadline& deadline,
                               const SignalWatch& signals, const std::function<bool()>& stop)
{
    const auto id = ++next_id_;
    channel_.send(proto::frame(id, run), deadline);

    InputFeed input{streams.in, run.input};
    std::uint32_t consumed = 0;  // output handed to the sinks, not yet granted back
    std::optional<Deadline> grace;
    int delivered = 0;
    bool stopped = false;

    for (;;) {
        input.pump(channel_, id, deadline, false);
        // Everything already received first: poll would not report it.
        while (auto frame = channel_.receive(Deadline{0ms})) {
            if (frame->id != id)
                continue;
            switch (frame->type) {
            case proto::Type::Output: {
                auto output = proto::decode<proto::Output>(*frame);
                auto& sink = output.stream == proto::Stream::out ? streams.out : streams.err;
                if (sink)
                    sink(output.data);
                consumed += static_cast<std::uint32_t>(output.data.size());
                if (consumed >= window_batch) {
                    channel_.send(proto::frame(id, proto::Window{consumed}), deadline);
                    consumed = 0;
                }
                break;
            }
            case proto::Type::Window:
                input.grant(proto::decode<proto::Window>(*frame).bytes);
                input.pump(channel_, id, deadline, false);
                break;
            case proto::Type::Exited: {
                auto exited = proto::decode<proto::Exited>(*frame);
                return {exited.status, std::chrono::nanoseconds(exited.elapsed_ns)};
            }
            case proto::Type::Error: {
                auto error = proto::decode<proto::Error>(*frame);
                throw AgentRefused(error.error, error.message);
            }
            default:
                throw proto::ProtocolError(fmt::format("a {} frame in the middle of a run",
                                                       proto::type_name(frame->type)));
            }
        }
        if (stop && !stopped && stop()) {
            channel_.send(proto::frame(id, proto::Signal{SIGKILL}), deadline);
            stopped = true;
        }
        // A quiet stream still gets its window back, so that the agent is
        // never left waiting on a batch that will not fill.
        if (consumed > 0) {
            channel_.send(proto::frame(id, proto::Window{consumed}), deadline);
            consumed = 0;
        }
        if (grace && grace->expired())
            throw Interrupted(delivered, fmt::format("{} was delivered to `{}`, which had not ended "
                                                     "{} ms later",
                                                     signal_name(delivered),
                                                     Command{run.argv}.describe(),
                                                     signals.grace.count()));
        if (deadline.expired())
            throw ReplyTimeout(fmt::format("`{}` did not exit", Command{run.argv}.describe()));

        pollfd fds[3] = {
            {channel_.fd(), POLLIN, 0},
            {input.poll_fd(), POLLIN, 0},
            {signals.fd, POLLIN, 0},
        };
        int wait_ms = grace ? std::min(grace->poll_ms(), deadline.poll_ms()) : deadline.poll_ms();
        if (::poll(fds, 3, wait_ms) < 0 && errno != EINTR)
            throw std::runtime_error(fmt::format("poll: {}", std::strerror(errno)));
        if (fds[1].revents != 0)
            input.pump(channel_, id, deadline, true);
        if (fds[2].revents != 0) {
            while (auto signal = take_signal(signals.fd)) {
                channel_.send(proto::frame(id, proto::Signal{*signal}), deadline);
                if (!grace) {
                    grace.emplace(signals.grace);
                    delivered = *signal;
                }
            }
        }
    }
}

}  // namespace kmsdk::detail
