// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <string_view>
#include <termios.h>

namespace kmsdk::detail {

// Puts a terminal into raw mode for as long as it lives, so keystrokes
// (Ctrl-C included) go to the guest's terminal; does nothing on a non-tty.
class RawTerminal {
public:
    explicit RawTerminal(int fd);
    ~RawTerminal();
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

private:
    int fd_;
    bool active_ = false;
    termios saved_{};
};

struct TerminalSize {
    unsigned rows = 24;
    unsigned cols = 80;
};
TerminalSize terminal_size(int fd);

// Writes everything, retrying short writes and EINTR.
void write_all(int fd, std::string_view data);

}  // namespace kmsdk::detail
