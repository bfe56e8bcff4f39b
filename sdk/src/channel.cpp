// SPDX-License-Identifier: GPL-2.0
#include "channel.hpp"

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
    std::string bytes;
    for (;;) {
        if (auto frame = reader_.next())
            return frame;
        bytes.clear();
        if (!receive_some(fd_.get(), bytes, deadline, "the guest's channel"))
            return std::nullopt;
        reader_.feed(bytes.data(), bytes.size());
    }
}

}  // namespace kmsdk::detail
