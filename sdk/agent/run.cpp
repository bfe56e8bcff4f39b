// SPDX-License-Identifier: GPL-2.0
//
// Run: starts a command, with pipes for its stdin, stdout and stderr, or on
// a new pseudo-terminal, where job control, line editing and programs that
// check isatty() behave as on a console. relay.cpp streams it from there.
#include "process.hpp"
#include "relay.hpp"
#include "requests.hpp"
#include "system.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace kmsdk::agent {
namespace {

// Pipes this large let a command that writes fast run up to a window ahead
// of the channel, so the relay finds whole chunks to read: fewer, fuller
// Output frames, and far fewer sleeps (under emulation, 64 MiB written in
// 4 KiB blocks: 2 against 271). Throughput stays what the agent's CPU
// allows; the checksum of each frame costs the most. The kernel allots
// the pages only as they fill. (1 MiB is the default pipe-max-size.)
constexpr int pipe_size = 1 << 20;

void enlarge_pipe(int fd)
{
    ::fcntl(fd, F_SETPIPE_SZ, pipe_size);  // a smaller pipe only costs speed
}

// Its child's ends made in the parent: the child only dup2s them, and the
// terminal's slave is open before the fork, so the master never reports a
// hang-up for the moment before the child has opened it.
struct PseudoTerminal {
    UniqueFd master;
    UniqueFd slave;
};

PseudoTerminal open_pseudo_terminal(std::uint32_t rows, std::uint32_t cols)
{
    PseudoTerminal terminal{UniqueFd{::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)}, {}};
    if (!terminal.master)
        throw_errno("cannot open a pseudo-terminal (is devpts mounted on /dev/pts?)");
    if (::grantpt(terminal.master.get()) != 0 || ::unlockpt(terminal.master.get()) != 0)
        throw_errno("cannot unlock the pseudo-terminal");
    // TIOCGPTPEER opens this master's own slave, without a path to look up.
    terminal.slave.reset(
        ::ioctl(terminal.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!terminal.slave)
        throw_errno("cannot open the pseudo-terminal's slave");
    auto clamp = [](std::uint32_t size) {
        return static_cast<unsigned short>(std::min<std::uint32_t>(size, 0xffff));
    };
    winsize size{clamp(rows), clamp(cols), 0, 0};
    ::ioctl(terminal.master.get(), TIOCSWINSZ, &size);
    set_nonblocking(terminal.master.get());
    return terminal;
}

RunningCommand start_with_pipes(const proto::Run& request, const std::string& cwd)
{
    Pipe in;
    UniqueFd null_input;
    if (request.input)
        in = make_pipe();
    else
        null_input = open_null_input();
    Pipe out = make_pipe();
    Pipe err = make_pipe();
    const int child_stdin = request.input ? in.read_end.get() : null_input.get();

    RunningCommand command;
    command.started_ns = monotonic_ns();
    command.process = spawn(request.argv, [&] {
        ::setsid();
        enter_directory_or_root(cwd);
        // dup2 clears close-on-exec on the copies only.
        ::dup2(child_stdin, STDIN_FILENO);
        ::dup2(out.write_end.get(), STDOUT_FILENO);
        ::dup2(err.write_end.get(), STDERR_FILENO);
    });
    // Only the child may hold its ends, or the pipes never reach end of
    // file (and its stdin never sees it).
    in.read_end.reset();
    null_input.reset();
    out.write_end.reset();
    err.write_end.reset();

    command.input = std::move(in.write_end);
    command.output = std::move(out.read_end);
    command.errors = std::move(err.read_end);
    for (const UniqueFd* fd : {&command.input, &command.output, &command.errors}) {
        if (*fd) {
            set_nonblocking(fd->get());
            enlarge_pipe(fd->get());
        }
    }
    return command;
}

RunningCommand start_on_terminal(const proto::Run& request, const std::string& cwd)
{
    PseudoTerminal terminal = open_pseudo_terminal(request.rows, request.cols);
    const int slave = terminal.slave.get();

    RunningCommand command;
    command.on_terminal = true;
    command.started_ns = monotonic_ns();
    command.process = spawn(request.argv, [&] {
        // A new session, whose controlling terminal the slave becomes.
        ::setsid();
        ::ioctl(slave, TIOCSCTTY, 0);
        for (int target : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO})
            ::dup2(slave, target);
        enter_directory_or_root(cwd);
    });
    // From now on the slave is the child's: once it and whatever it started
    // have closed it, the master reads end of file.
    terminal.slave.reset();

    if (request.input) {
        // Its own descriptor, so that the relay can close stdin (after the
        // ^D of the end of input) and go on reading the terminal.
        command.input.reset(::fcntl(terminal.master.get(), F_DUPFD_CLOEXEC, 0));
        if (!command.input)
            throw_errno("cannot duplicate the pseudo-terminal's master");
    }
    command.output = std::move(terminal.master);
    return command;
}

}  // namespace

void serve_run(Channel& channel, std::uint32_t id, const proto::Run& request)
{
    if (request.argv.empty())
        throw RequestError(EINVAL, "Run needs a command: its argv is empty");
    const std::string cwd = resolve_working_directory(request.cwd);
    RunningCommand command =
        request.rows > 0 ? start_on_terminal(request, cwd) : start_with_pipes(request, cwd);
    relay(channel, id, std::move(command));
}

}  // namespace kmsdk::agent
