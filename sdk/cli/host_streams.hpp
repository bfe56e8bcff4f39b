// SPDX-License-Identifier: GPL-2.0
// kmsdk's own stdin, stdout and stderr, wired to a streamed guest command
// as if the command were kmsdk's child: its output passes straight to
// descriptors 1 and 2 as it arrives (write(2), no stdio buffer, byte for
// byte), and piped stdin is forwarded.
#pragma once

#include "forwarded_signals.hpp"

#include "kmsdk/guest.hpp"

#include <string>
#include <string_view>
#include <unistd.h>

namespace kmsdk::cli {

class HostStreams {
public:
    explicit HostStreams(const ForwardedSignals& signals);
    // The sinks point into this object.
    HostStreams(const HostStreams&) = delete;
    HostStreams& operator=(const HostStreams&) = delete;

    // For Guest::run(command, streams, timeout).
    Streams& streams() { return streams_; }

    // After the run: writes what was held back while a signal waited for
    // the library (given up if another signal interrupts it).
    void finish();

    // Why stdout could not be written, other than its reader going away:
    // "" if it could. Either ends the command with SIGPIPE, as the reader
    // going away would end a host command.
    const std::string& failure() const { return failure_; }

private:
    // One of kmsdk's output descriptors.
    class Output {
    public:
        Output(int fd, const char* name) : fd_{fd}, name_{name} {}
        void pass(std::string_view piece, HostStreams& host);
        void flush(HostStreams& host);

    private:
        std::size_t write(std::string_view bytes, int signal_fd, HostStreams& host);

        int fd_;
        const char* name_;
        bool open_ = true;
        std::string held_;
    };

    // Has SIGPIPE delivered to the command, once.
    void stop_command();
    void write_failed(int fd, const char* name, int error);

    const ForwardedSignals& signals_;
    Output out_{STDOUT_FILENO, "stdout"};
    Output err_{STDERR_FILENO, "stderr"};
    Streams streams_;
    bool pipe_signal_sent_ = false;
    std::string failure_;
};

// kmsdk's stdin, when it is a pipe or a file: a terminal stays kmsdk's
// (the command reads /dev/null, as any non-interactive run), and so does
// a closed descriptor 0.
InputSource forwarded_stdin();

}  // namespace kmsdk::cli
