// SPDX-License-Identifier: GPL-2.0
// SIGINT, SIGTERM and SIGHUP, meant for the guest's command rather than
// for kmsdk: dying of them at once would skip the Guest's destructor
// (leaving its temporary folder) and give a status that is not the
// command's. Each one caught is written as a byte into a self-pipe whose
// read end GuestOptions::signals() watches; the library delivers it to the
// running command, or stops a boot with kmsdk::Interrupted.
#pragma once

#include <string>
#include <string_view>

namespace kmsdk::cli {

class ForwardedSignals {
public:
    // Installs the handlers (once per process: every call after the first
    // returns the same object) and ignores SIGPIPE, so that a write to a
    // reader that went away fails with EPIPE instead of killing kmsdk.
    static ForwardedSignals& install();

    // For GuestOptions::signals().
    int watch_fd() const { return read_end_; }

    // Has the library deliver `signal` to the running command as if it
    // had come from outside: SIGPIPE when the command's reader went away.
    void deliver(int signal) const;

    // The last SIGINT, SIGTERM or SIGHUP that came, 0 if none. A command of
    // several steps (cycle, tour) checks it between them: the library has
    // taken the byte to deliver it, but the next step must not start.
    int received() const;
    // Throws kmsdk::Interrupted when one came ("SIGINT came <when>").
    void stop_if_received(std::string_view when) const;

    // Empties the pipe once the guest has nothing running: the first
    // SIGINT, SIGTERM or SIGHUP the library never took, 0 if none. It came
    // too late to reach the command, so it ends kmsdk itself.
    int take_undelivered() const;

    ForwardedSignals(const ForwardedSignals&) = delete;
    ForwardedSignals& operator=(const ForwardedSignals&) = delete;

private:
    ForwardedSignals();
    int read_end_ = -1;
};

// kmsdk::Interrupted, saying "SIGTERM came <when>".
[[noreturn]] void throw_interrupted(int signal, std::string_view when);

}  // namespace kmsdk::cli
