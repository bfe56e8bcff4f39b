// SPDX-License-Identifier: GPL-2.0
#include "channel.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>

namespace kmsdk::detail {

Channel Channel::connect(const std::filesystem::path& socket, const Deadline& deadline)
{
    return Channel{connect_unix_socket(socket, deadline, "the guest's channel")};
}

void Channel::send(const proto::Frame& frame, const Deadline& deadline)
{
    send_all(fd_.get(), proto::encode(frame), deadline, "the guest's channel");
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
