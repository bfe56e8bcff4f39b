// SPDX-License-Identifier: GPL-2.0
//
// PtyOpen: a command (or an interactive shell) on a new pseudo-terminal,
// relayed over the channel until it exits. Job control, line editing and
// programs that check isatty() then behave as on a console.
#include "channel.hpp"
#include "log.hpp"
#include "process.hpp"
#include "requests.hpp"
#include "system.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace kmsdk::agent {
namespace {

struct PseudoTerminal {
    UniqueFd master;
    std::string slave_path;
};

PseudoTerminal open_pseudo_terminal(std::uint32_t rows, std::uint32_t cols)
{
    PseudoTerminal pty{UniqueFd{::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)}, {}};
    if (!pty.master)
        throw_errno("cannot open a pseudo-terminal (is devpts mounted on /dev/pts?)");
    if (::grantpt(pty.master.get()) != 0 || ::unlockpt(pty.master.get()) != 0)
        throw_errno("cannot unlock the pseudo-terminal");
    char name[128];
    if (::ptsname_r(pty.master.get(), name, sizeof name) != 0)
        throw_errno("cannot name the pseudo-terminal");
    pty.slave_path = name;
    if (rows > 0 && cols > 0) {
        winsize size{static_cast<unsigned short>(rows), static_cast<unsigned short>(cols), 0, 0};
        ::ioctl(pty.master.get(), TIOCSWINSZ, &size);
    }
    set_nonblocking(pty.master.get());
    return pty;
}

// The child's side: a new session whose controlling terminal is the slave.
ChildProcess start_on_terminal(const std::vector<std::string>& argv, const std::string& slave_path,
                               const std::string& cwd)
{
    return spawn(argv, [&] {
        ::setsid();
        int tty = ::open(slave_path.c_str(), O_RDWR);
        if (tty < 0)
            _exit(126);
        ::ioctl(tty, TIOCSCTTY, 0);
        for (int target : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO})
            ::dup2(tty, target);
        if (tty > STDERR_FILENO)
            ::close(tty);
        enter_directory_or_root(cwd);
    });
}

class Relay {
public:
    Relay(Channel& channel, std::uint32_t id, UniqueFd master)
        : channel_{channel}, id_{id}, master_{std::move(master)}
    {
    }

    // Until the child exits; returns its wait status.
    int run(ChildProcess& child)
    {
        for (;;) {
            // Frames that came in the same read as PtyOpen, or with the
            // last ones, are already buffered: poll would not report them.
            handle_buffered_frames();
            pollfd fds[2] = {
                {channel_.fd(), POLLIN, 0},
                {master_hung_up_ ? -1 : master_.get(),
                 static_cast<short>(POLLIN | (to_terminal_.empty() ? 0 : POLLOUT)), 0},
            };
            // With the terminal hung up (no slave descriptor open) poll
            // would not wait on it: look again shortly instead.
            int ready = ::poll(fds, 2, master_hung_up_ ? 10 : 500);
            if (ready < 0 && errno != EINTR)
                throw_errno("cannot poll the pseudo-terminal");
            master_hung_up_ = false;
            if (ready > 0 && fds[0].revents != 0 && !channel_.read_available())
                ::usleep(Channel::disconnected_retry_ms * 1000);
            if (ready > 0 && (fds[1].revents & POLLOUT))
                write_to_terminal();
            if (ready > 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
                forward_output();
            if (auto status = child.try_wait()) {
                forward_output();  // what it wrote just before exiting
                return *status;
            }
        }
    }

private:
    void handle_buffered_frames()
    {
        while (auto frame = channel_.next_buffered()) {
            if (frame->type == proto::Type::PtyInput && frame->id == id_) {
                try {
                    to_terminal_ += proto::PayloadReader{frame->payload}.bytes();
                } catch (const proto::ProtocolError& error) {
                    log_problem(std::string{"malformed PtyInput: "} + error.what());
                }
            } else if (frame->type == proto::Type::PtyInput) {
                log_problem("PtyInput for session " + std::to_string(frame->id) +
                            " while session " + std::to_string(id_) + " runs; dropped");
            } else {
                // One request at a time: the session holds the agent.
                channel_.send({proto::Type::Error, frame->id,
                               proto::PayloadWriter{}
                                   .i32(EBUSY)
                                   .bytes("the agent is busy with a terminal session (PtyOpen id " +
                                          std::to_string(id_) + "); retry when it has ended")
                                   .take()});
            }
        }
    }

    void write_to_terminal()
    {
        ssize_t wrote = ::write(master_.get(), to_terminal_.data(), to_terminal_.size());
        if (wrote > 0)
            to_terminal_.erase(0, static_cast<std::size_t>(wrote));
        else if (wrote < 0 && errno != EAGAIN && errno != EINTR)
            to_terminal_.clear();  // nobody left to read it
    }

    void forward_output()
    {
        char chunk[16 * 1024];
        for (;;) {
            ssize_t got = ::read(master_.get(), chunk, sizeof chunk);
            if (got > 0) {
                channel_.send({proto::Type::PtyOutput, id_,
                               proto::PayloadWriter{}
                                   .bytes({chunk, static_cast<std::size_t>(got)})
                                   .take()});
                continue;
            }
            if (got < 0 && errno == EINTR)
                continue;
            // EIO: every descriptor of the slave is closed, for now.
            if (!(got < 0 && errno == EAGAIN))
                master_hung_up_ = true;
            return;
        }
    }

    Channel& channel_;
    std::uint32_t id_;
    UniqueFd master_;
    std::string to_terminal_;  // keystrokes the terminal has not taken yet
    bool master_hung_up_ = false;
};

}  // namespace

void serve_pty_session(Channel& channel, std::uint32_t id, proto::PayloadReader& request)
{
    std::string command = request.bytes();
    std::uint32_t rows = request.u32();
    std::uint32_t cols = request.u32();

    auto pty = open_pseudo_terminal(rows, cols);
    std::vector<std::string> argv = command.empty()
                                        ? std::vector<std::string>{"/bin/sh", "-i"}
                                        : std::vector<std::string>{"/bin/sh", "-c", command};
    ChildProcess child = start_on_terminal(argv, pty.slave_path, resolve_working_directory(""));

    Relay relay{channel, id, std::move(pty.master)};
    int status = relay.run(child);
    channel.send({proto::Type::PtyExit, id, proto::PayloadWriter{}.i32(shell_status(status)).take()});
}

}  // namespace kmsdk::agent
