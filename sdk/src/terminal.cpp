// SPDX-License-Identifier: GPL-2.0
#include "terminal.hpp"

#include <cerrno>
#include <sys/ioctl.h>
#include <unistd.h>

namespace kmsdk::detail {

RawTerminal::RawTerminal(int fd) : fd_{fd}
{
    if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0)
        return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
}

RawTerminal::~RawTerminal()
{
    if (active_)
        ::tcsetattr(fd_, TCSANOW, &saved_);
}

TerminalSize terminal_size(int fd)
{
    winsize size{};
    if (::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_row > 0 && size.ws_col > 0)
        return {size.ws_row, size.ws_col};
    return {};
}

void write_all(int fd, std::string_view data)
{
    while (!data.empty()) {
        auto n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;  // the reader is gone; nothing useful to do
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace kmsdk::detail
