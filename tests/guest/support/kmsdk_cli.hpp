// SPDX-License-Identifier: GPL-2.0
//
// Running this build's `kmsdk` command as a user runs it, for the suites
// that check the command itself (cli, run): kmsdk is forked with the words
// a shell would have given it, or a line is given to /bin/sh -c (for
// pipelines: `echo hi | kmsdk run -- cat`). Its stdin is /dev/null, bytes
// through a pipe, or a descriptor of the test's; its stdout is collected,
// or handed to the test as it arrives; its stderr is collected in a file.
// A signal can be sent once stderr shows some text. Every run has a
// deadline, and afterwards nothing it started may be left running: every
// process it started inherits a marker in its environment, and the helper
// looks for processes that still carry it.
//
// Linked by the suites that run kmsdk: kmsdk_guest_cli_support, which
// knows the path of the kmsdk this build made (KMSDK_CLI_PATH).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmsdk::test {

using Clock = std::chrono::steady_clock;

// The kmsdk command this build made.
std::filesystem::path kmsdk_cli();

// How to run kmsdk; the defaults are a plain run from a script.
struct KmsdkRun {
    // "NAME=value": replaces what kmsdk would inherit of NAME.
    std::vector<std::string> env{};
    // Past it kmsdk (and a shell's whole pipeline) is killed and the test fails.
    std::chrono::seconds deadline{120};
    // stdin: these bytes through a pipe, then its end...
    std::optional<std::string> input{};
    // ...or this descriptor, which the caller keeps and closes, with any
    // write end of it (a stdin that never ends); made O_CLOEXEC, so that
    // kmsdk does not inherit that write end too...
    int input_fd = -1;
    // ...else /dev/null.

    // stdout as it arrives, through a pipe, in pieces of any size (and
    // then not collected in Outcome::out).
    std::function<void(std::string_view)> on_out{};

    // `signal` sent to kmsdk (or to the shell) once its stderr contains
    // `after_err` (at once if empty), `delay` after that.
    int signal = 0;
    std::string after_err{};
    std::chrono::milliseconds delay{0};
};

struct Outcome {
    int status = -1;  // exit status; 128 + signal if killed
    std::string out;  // unless KmsdkRun::on_out took it
    std::string err;
    pid_t pid = 0;  // kmsdk's (or the shell's)
    Clock::time_point started;
    std::optional<Clock::time_point> signalled;  // when KmsdkRun::signal went
    Clock::time_point exited;
    // From its exit until no process it started was running (at most the
    // 2 s allowed for that).
    Clock::duration cleanup{};
    // What was still running then; run_kmsdk CHECKs that it is empty.
    std::vector<std::string> left;

    // From the signal to the exit (zero if no signal was sent).
    Clock::duration signal_to_exit() const
    {
        return signalled ? exited - *signalled : Clock::duration{};
    }
    Clock::duration took() const { return exited - started; }
};

// Its status, stderr and the start of its stdout, for INFO().
std::string describe(const Outcome& outcome);

// `kmsdk args...`.
Outcome run_kmsdk(const std::vector<std::string>& args, const KmsdkRun& how = {});

// `sh -c line`, in which `kmsdk` is this build's kmsdk (a shell function):
// "seq 3 | kmsdk run -q -- wc -l".
Outcome run_kmsdk_shell(const std::string& line, const KmsdkRun& how = {});

// Every running process whose environment holds `marker` ("NAME=value").
// A zombie has no environment left, so it does not count.
std::vector<std::string> processes_marked(const std::string& marker);

// The guests' temporary folders of the process `pid` still there
// ($TMPDIR/kmsdk-guest-<pid>-XXXXXX).
std::vector<std::filesystem::path> guest_folders_of(pid_t pid);

// Seconds, for messages.
double seconds(Clock::duration duration);

}  // namespace kmsdk::test
