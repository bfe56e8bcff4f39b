// SPDX-License-Identifier: GPL-2.0
#include "unix_socket.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>

namespace kmsdk::detail {

UniqueFd connect_unix_socket(const std::filesystem::path& socket, const Deadline& deadline,
                             std::string_view what)
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
            return fd;
        int err = errno;
        if (err != ENOENT && err != ECONNREFUSED && err != EAGAIN)
            throw std::runtime_error(fmt::format("cannot connect to {} {}: {}", what,
                                                 socket.string(), std::strerror(err)));
        if (deadline.expired())
            throw ChannelClosed(fmt::format("QEMU did not open {} {} in time", what, socket.string()));
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

void send_all(int fd, std::string_view bytes, const Deadline& deadline, std::string_view what)
{
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN)
            throw ChannelClosed(fmt::format("{} closed while sending: {}", what,
                                            std::strerror(errno)));
        pollfd pfd{fd, POLLOUT, 0};
        if (::poll(&pfd, 1, deadline.poll_ms()) == 0 && deadline.expired())
            throw ChannelClosed(fmt::format(
                "{} took no data for {} ms", what,
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline.budget()).count()));
    }
}

bool receive_some(int fd, std::string& buffer, const Deadline& deadline, std::string_view what)
{
    char chunk[1 << 16];
    for (;;) {
        auto n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n > 0) {
            buffer.append(chunk, static_cast<std::size_t>(n));
            return true;
        }
        if (n == 0)
            throw ChannelClosed(fmt::format("{} closed: QEMU exited", what));
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            throw ChannelClosed(fmt::format("reading {} failed: {}", what, std::strerror(errno)));
        if (deadline.expired())
            return false;
        pollfd pfd{fd, POLLIN, 0};
        ::poll(&pfd, 1, deadline.poll_ms(50));
    }
}

}  // namespace kmsdk::detail
