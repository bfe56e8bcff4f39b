// SPDX-License-Identifier: GPL-2.0
#include "forwarded_signals.hpp"

#include "kmsdk/guest.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <string.h>
#include <unistd.h>

namespace kmsdk::cli {
namespace {

constexpr int forwarded[] = {SIGINT, SIGTERM, SIGHUP};

// What the handler may touch: nothing but these and write().
int pipe_write_end = -1;
volatile std::sig_atomic_t last_received = 0;

void on_signal(int signal)
{
    int saved_errno = errno;
    last_received = signal;
    auto byte = static_cast<unsigned char>(signal);
    // A full pipe (thousands of signals unread) loses this one: the
    // library has plenty to act on already.
    [[maybe_unused]] auto written = ::write(pipe_write_end, &byte, 1);
    errno = saved_errno;
}

void set_action(int signal, void (*handler)(int))
{
    struct sigaction action {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    // No SA_RESTART: a blocking write to a stalled reader must return
    // EINTR so that the library gets to see the signal.
    action.sa_flags = 0;
    if (::sigaction(signal, &action, nullptr) < 0)
        throw std::runtime_error(fmt::format("sigaction({}): {}", signal_name(signal),
                                             std::strerror(errno)));
}

bool is_forwarded(int signal)
{
    for (int candidate : forwarded)
        if (candidate == signal)
            return true;
    return false;
}

}  // namespace

ForwardedSignals::ForwardedSignals()
{
    int ends[2];
    // Non-blocking at both ends: the handler must never block, and
    // draining must stop once the pipe is empty.
    if (::pipe2(ends, O_NONBLOCK | O_CLOEXEC) < 0)
        throw std::runtime_error(fmt::format("cannot make the signal pipe: {}", std::strerror(errno)));
    read_end_ = ends[0];
    pipe_write_end = ends[1];
    set_action(SIGPIPE, SIG_IGN);
    for (int signal : forwarded)
        set_action(signal, on_signal);
}

ForwardedSignals& ForwardedSignals::install()
{
    // Never destroyed: a handler may run until the process is gone.
    static auto* signals = new ForwardedSignals;
    return *signals;
}

void ForwardedSignals::deliver(int signal) const
{
    auto byte = static_cast<unsigned char>(signal);
    [[maybe_unused]] auto written = ::write(pipe_write_end, &byte, 1);
}

int ForwardedSignals::received() const
{
    return last_received;
}

void ForwardedSignals::stop_if_received(std::string_view when) const
{
    if (int signal = received())
        throw_interrupted(signal, when);
}

int ForwardedSignals::take_undelivered() const
{
    int first = 0;
    unsigned char byte = 0;
    while (::read(read_end_, &byte, 1) == 1)
        // SIGPIPE is only deliver()'s own note that output had nowhere to go.
        if (first == 0 && is_forwarded(byte))
            first = byte;
    return first;
}

void throw_interrupted(int signal, std::string_view when)
{
    throw Interrupted(signal, fmt::format("{} came {}", signal_name(signal), when));
}

}  // namespace kmsdk::cli
