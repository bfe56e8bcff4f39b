// SPDX-License-Identifier: GPL-2.0
#include "host_streams.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace kmsdk::cli {

HostStreams::HostStreams(const ForwardedSignals& signals) : signals_{signals}
{
    streams_.out = [this](std::string_view piece) { out_.pass(piece, *this); };
    streams_.err = [this](std::string_view piece) { err_.pass(piece, *this); };
    streams_.in = forwarded_stdin();
}

void HostStreams::finish()
{
    out_.flush(*this);
    err_.flush(*this);
}

void HostStreams::stop_command()
{
    if (pipe_signal_sent_)
        return;
    pipe_signal_sent_ = true;
    signals_.deliver(SIGPIPE);
}

void HostStreams::write_failed(int fd, const char* name, int error)
{
    // A broken stderr has nowhere to be reported, and a host command would
    // carry on without it too.
    if (fd != STDOUT_FILENO)
        return;
    if (failure_.empty())
        failure_ = fmt::format("cannot write the command's {}: {}", name, std::strerror(error));
    // The command cannot see the write fail, as it would on the host: end
    // it rather than let it run on with its output going nowhere.
    stop_command();
}

void HostStreams::Output::pass(std::string_view piece, HostStreams& host)
{
    if (!open_)
        return;
    if (held_.empty()) {
        auto sent = write(piece, host.signals_.watch_fd(), host);
        if (open_)
            held_.assign(piece.substr(sent));
    } else {
        held_.append(piece);
        held_.erase(0, write(held_, host.signals_.watch_fd(), host));
    }
    if (!open_)
        held_.clear();
}

void HostStreams::Output::flush(HostStreams& host)
{
    // The library reads no signals now: one that comes while a stalled
    // reader blocks this write ends kmsdk, so give up on EINTR.
    if (open_ && !held_.empty())
        write(held_, -1, host);
    held_.clear();
}

// How much of `bytes` went out. Writing stops short while a signal waits
// in the pipe: the library reads it only once the sink returns, and a
// write blocked on a stalled reader must not keep it from the command.
std::size_t HostStreams::Output::write(std::string_view bytes, int signal_fd, HostStreams& host)
{
    std::size_t done = 0;
    while (open_ && done < bytes.size()) {
        pollfd fds[2] = {{fd_, POLLOUT, 0}, {signal_fd, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR && signal_fd >= 0)
                continue;
            if (errno != EINTR) {
                open_ = false;
                host.write_failed(fd_, name_, errno);
            }
            break;
        }
        if (fds[1].revents & POLLIN)
            break;
        auto written = ::write(fd_, bytes.data() + done, bytes.size() - done);
        if (written >= 0) {
            done += static_cast<std::size_t>(written);
            continue;
        }
        // Someone else's O_NONBLOCK on a shared descriptor: poll waits.
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            continue;
        if (errno == EINTR) {
            if (signal_fd >= 0)
                continue;
            break;
        }
        open_ = false;
        if (errno == EPIPE)
            host.stop_command();
        else
            host.write_failed(fd_, name_, errno);
    }
    return done;
}

InputSource forwarded_stdin()
{
    if (::fcntl(STDIN_FILENO, F_GETFD) < 0 || ::isatty(STDIN_FILENO))
        return InputSource::none();
    return InputSource::descriptor(STDIN_FILENO);
}

}  // namespace kmsdk::cli
