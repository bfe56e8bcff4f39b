// SPDX-License-Identifier: GPL-2.0
//
// What a forwarded signal costs, from its delivery to the command's exit:
// through the library (GuestOptions::signals), and through `kmsdk run`
// as a user's Ctrl-C or a supervisor's SIGTERM reaches it. The command is
// `sh -c 'echo started; exec sleep 30'`: the signal goes once "started"
// is out, and SIGTERM must end it with status 143 long before the 30 s.
#pragma once

#include "unique_fd.hpp"

#include "kmsdk/guest.hpp"

#include <filesystem>
#include <string>

namespace kmsdk::bench {

// The self-pipe a Guest watches through GuestOptions::signals(read_end()).
class SignalPipe {
public:
    SignalPipe();
    int read_end() const { return read_.get(); }
    // One signal number, as the CLI's handler writes it.
    void send(int signal) const;

private:
    detail::UniqueFd read_, write_;
};

// One streamed run in `guest` (made with GuestOptions::signals(pipe's
// read end)): SIGTERM written into `pipe` from the out sink when
// "started" arrives, to run() returning; milliseconds. Throws unless the
// status is 143.
double library_signal_to_exit(Guest& guest, const SignalPipe& pipe);

struct CliSignal {
    bool ok = false;
    double started_ms = 0;         // spawn to "started" on kmsdk's stdout
    double signal_to_exit_ms = 0;  // kill(SIGTERM) to kmsdk's exit
    std::string failure;
};

// `kmsdk run -k <release> -- sh -c 'echo started; exec sleep 30'`, warm,
// its stdout and stderr a FIFO in `workdir` the bench reads as it comes.
CliSignal cli_signal_to_exit(const std::filesystem::path& kmsdk, const std::string& release,
                             const std::filesystem::path& workdir);

}  // namespace kmsdk::bench
