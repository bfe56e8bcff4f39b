// SPDX-License-Identifier: GPL-2.0
#include "channel.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>

namespace kmsdk::detail {

Channel Channel::connect(const std::filesystem::path& socket, const Deadline& deadline)
{
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket.native().size() >= sizeof address.sun_path)
        throw std::runtime_error(fmt::format("socket path {} is too long; set TMPDIR to a shorter folder",
                                             socket.string()));
    std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);

    for (;;) {
        UniqueFd fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
        if (!fd)
            throw std::runtime_error(fmt::format("socket(): {}", std::strerror(errno)));
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0)
            return Channel{std::move(fd)};
        int err = errno;
        if (err != ENOENT && err != ECONNREFUSED && err != EAGAIN)
            throw std::runtime_error(fmt::format("cannot connect to the guest's channel {}: {}",
                                                 socket.string(), std::strerror(err)));
        if (deadline.expired())
            throw ChannelClosed(fmt::format("QEMU did not open the guest's channel {} in time",
                                            socket.string()));
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

void Channel::send(const proto::Frame& frame, const Deadline& deadline)
{
    auto bytes = proto::encode(frame);
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        auto n = ::send(fd_.get(), bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN)
            throw ChannelClosed(fmt::format("the guest's channel closed while sending: {}",
                                            std::strerror(errno)));
        pollfd pfd{fd_.get(), POLLOUT, 0};
        if (::poll(&pfd, 1, deadline.poll_ms()) == 0 && deadline.expired())
            throw ChannelClosed(fmt::format("the guest took no data for {} ms",
                                            std::chrono::duration_cast<std::chrono::milliseconds>(deadline.budget()).count()));
    }
}

bool Channel::peer_closed() const
{
    char byte;
    return ::recv(fd_.get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

std::optional<proto::Frame> Channel::receive(const Deadline& deadline)
{
    char buffer[1 << 16];
    for (;;) {
        if (auto frame = reader_.next())
            return frame;
        auto n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
        if (n > 0) {
            reader_.feed(buffer, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0)
            throw ChannelClosed("the guest's channel closed: QEMU exited");
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            throw ChannelClosed(fmt::format("reading the guest's channel failed: {}",
                                            std::strerror(errno)));
        if (deadline.expired())
            return std::nullopt;
        pollfd pfd{fd_.get(), POLLIN, 0};
        ::poll(&pfd, 1, deadline.poll_ms(50));
    }
}

}  // namespace kmsdk::detail
