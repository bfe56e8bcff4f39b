// SPDX-License-Identifier: GPL-2.0
#include "qmp.hpp"

#include "unix_socket.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>

namespace kmsdk::detail {

namespace {
constexpr std::string_view what = "QEMU's monitor socket";
}

Qmp Qmp::connect(const std::filesystem::path& socket, const Deadline& deadline)
{
    Qmp qmp{connect_unix_socket(socket, deadline, what)};
    qmp.read_message(deadline);  // {"QMP": {"version": ..., "capabilities": ...}}
    qmp.execute("qmp_capabilities", deadline);
    return qmp;
}

nlohmann::json Qmp::execute(std::string_view command, const nlohmann::json& arguments,
                            const Deadline& deadline)
{
    nlohmann::json request = {{"execute", command}};
    if (!arguments.empty())
        request["arguments"] = arguments;
    send_all(fd_.get(), request.dump() + "\n", deadline, what);
    return await_reply(command, deadline);
}

nlohmann::json Qmp::await_reply(std::string_view command, const Deadline& deadline)
{
    for (;;) {
        auto reply = read_message(deadline);
        if (reply.contains("return"))
            return reply["return"];
        if (reply.contains("error"))
            throw std::runtime_error(fmt::format(
                "QEMU refused {}: {}", command, reply["error"].value("desc", reply.dump())));
        // An event ({"event": ...}): not an answer.
    }
}

void Qmp::pass_fd(std::string_view name, int fd, const Deadline& deadline)
{
    // The descriptor rides along with the command's bytes (SCM_RIGHTS).
    auto request = nlohmann::json{{"execute", "getfd"}, {"arguments", {{"fdname", name}}}}.dump() + "\n";
    iovec data{request.data(), request.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    auto* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &fd, sizeof(int));
    for (;;) {
        auto sent = ::sendmsg(fd_.get(), &message, MSG_NOSIGNAL);
        if (sent == static_cast<ssize_t>(request.size()))
            break;
        if (sent < 0 && (errno == EINTR || errno == EAGAIN) && !deadline.expired()) {
            pollfd pfd{fd_.get(), POLLOUT, 0};
            ::poll(&pfd, 1, deadline.poll_ms());
            continue;
        }
        throw ChannelClosed(fmt::format("cannot hand QEMU a file: {}",
                                        sent < 0 ? std::strerror(errno) : "short write"));
    }
    await_reply("getfd", deadline);
}

nlohmann::json Qmp::read_message(const Deadline& deadline)
{
    // QMP sends one JSON object a line.
    for (;;) {
        if (auto end = buffer_.find('\n'); end != std::string::npos) {
            auto line = buffer_.substr(0, end);
            buffer_.erase(0, end + 1);
            try {
                return nlohmann::json::parse(line);
            } catch (const nlohmann::json::parse_error& error) {
                throw std::runtime_error(fmt::format("QEMU's monitor sent something that is not "
                                                     "JSON ({}): {}", error.what(), line));
            }
        }
        if (!receive_some(fd_.get(), buffer_, deadline, what))
            throw ChannelClosed("QEMU's monitor did not answer in time");
    }
}

}  // namespace kmsdk::detail
