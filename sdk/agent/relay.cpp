// SPDX-License-Identifier: GPL-2.0
//
// The relay loop of a Run. One poll waits on everything at once: the
// channel (the host's frames, and room for the agent's), the command's
// output, its stdin while input waits, and its exit.
//
// Flow control. The relay may have proto::initial_window bytes of Output
// data sent that the host has not granted back with Window. With no credit
// left it stops reading the command's output, so the command blocks on a
// full pipe; frames wait in the channel's queue, which the window bounds.
// The host's Input is granted back as it goes into the command's stdin, or
// is dropped because nobody will read it. So the agent holds about a window
// each way, a few MiB, however much flows.
//
// Exit. A pidfd says when the command has exited: poll wakes for that one
// process, where SIGCHLD would come for every orphan PID 1 inherits and
// need a handler and a self-pipe to wake poll at all. Exit closes the
// process's descriptors first, so by then its output is all in the pipes:
// the relay sends what they hold at that moment and stops, and a background
// job that keeps them open does not hold up Exited.
#include "relay.hpp"

#include "channel.hpp"
#include "log.hpp"
#include "system.hpp"

#include "kmsdk/proto/messages.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <optional>
#include <string>

namespace kmsdk::agent {
namespace {

// Input written to the command is granted back in batches of at least
// this, or whenever all of it is written: a Window per pipe write would
// double the frames, and a smaller batch would stall the host's stream.
constexpr std::uint64_t grant_batch = 256u << 10;
// The host's frames are not read while more than this waits to go out: a
// host that sends requests without reading the Error replies cannot make
// the queue grow. It is above what the output window lets be queued, so
// Output alone never stops the Window frames that let it go on.
constexpr std::size_t outbound_limit = proto::initial_window + (256u << 10);
// The relay wakes at least this often to reap orphans.
constexpr int housekeeping_ms = 1000;
// Without a pidfd: how often the command is checked for having exited.
constexpr int exit_check_ms = 50;
// After the exit, a pseudo-terminal may hold more than FIONREAD counts:
// what the command wrote can still wait in the tty layer's flip buffers
// (at most 640 KiB of them) for the line discipline to take it.
constexpr std::size_t terminal_in_flight = 1u << 20;
// What ends the input on a terminal: the line discipline makes it end of
// file for the reader, as the key ^D would.
constexpr char end_of_file_key = 0x04;

std::size_t readable_now(int fd)
{
    int bytes = 0;
    return ::ioctl(fd, FIONREAD, &bytes) == 0 && bytes > 0 ? static_cast<std::size_t>(bytes) : 0;
}

UniqueFd open_exit_notifier(pid_t pid)
{
    UniqueFd pidfd{static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))};
    static bool reported = false;
    if (!pidfd && !reported) {
        log_note("no pidfd_open (" + errno_text(errno) + "): commands are checked for having "
                 "exited every " + std::to_string(exit_check_ms) + " ms");
        reported = true;
    }
    return pidfd;
}

struct OutputStream {
    UniqueFd fd;
    proto::Stream stream;
    // Once the command has exited: how much more to take.
    std::optional<std::size_t> drain_left;
};

enum class ReadOutcome {
    emptied,    // nothing more to read for now
    ended,      // end of file: closed
    no_credit,  // the window is full
    drained,    // what it held at the exit is sent
};

class Relay {
public:
    Relay(Channel& channel, std::uint32_t id, RunningCommand command)
        : channel_{channel},
          id_{id},
          process_{std::move(command.process)},
          started_ns_{command.started_ns},
          on_terminal_{command.on_terminal},
          exit_notifier_{open_exit_notifier(process_.pid())},
          outputs_{OutputStream{std::move(command.output), proto::Stream::out, {}},
                   OutputStream{std::move(command.errors), proto::Stream::err, {}}},
          input_{std::move(command.input)}
    {
    }

    void run()
    {
        for (;;) {
            handle_buffered_frames();
            grant_input();
            if (exited_ && drain_outputs())
                break;
            channel_.flush_queued();
            wait_and_serve();
            housekeeping();
        }
        channel_.queue(proto::frame(id_, *exited_));
        send_the_rest();
    }

private:
    // Leave the port out of poll while it would report POLLHUP (no host)
    // or POLLOUT for writes that fail: both return at once.
    bool port_pollable() const { return channel_.host_connected() && !channel_.write_failing(); }

    // Whether to take the host's frames now; see outbound_limit. Pending
    // input above a window means the host ignores its window: stop
    // reading it rather than buffer without bound.
    bool accepting_frames() const
    {
        return channel_.queued_bytes() <= outbound_limit && pending_input() <= proto::initial_window;
    }

    void wait_and_serve()
    {
        enum { at_port, at_stdout, at_stderr, at_stdin, at_exit, slot_count };
        const bool pollable = port_pollable();
        const bool accepting = accepting_frames();
        pollfd fds[slot_count] = {};
        fds[at_port] = {pollable ? channel_.fd() : -1,
                        static_cast<short>((accepting ? POLLIN : 0) |
                                           (channel_.has_queued() ? POLLOUT : 0)),
                        0};
        // Once it has exited, drain_outputs reads what is left without poll.
        for (int stream : {0, 1}) {
            const auto& source = outputs_[stream];
            bool wanted = source.fd && !exited_ && output_credit_ > 0;
            fds[at_stdout + stream] = {wanted ? source.fd.get() : -1, POLLIN, 0};
        }
        fds[at_stdin] = {input_ && input_waiting() ? input_.get() : -1, POLLOUT, 0};
        fds[at_exit] = {exit_notifier_ ? exit_notifier_.get() : -1, POLLIN, 0};

        int timeout_ms = housekeeping_ms;
        if (!pollable)
            timeout_ms = Channel::disconnected_retry_ms;
        else if (!exited_ && !exit_notifier_)
            timeout_ms = exit_check_ms;
        int ready = ::poll(fds, slot_count, timeout_ms);
        if (ready < 0 && errno == EINTR)
            return;  // a power signal: the main loop acts on it after the Run
        if (ready < 0)
            throw_errno("cannot poll the descriptors of Run id " + std::to_string(id_));

        // Without a host, reading is how the relay learns that one is back
        // (writing, in flush_queued, is the other way).
        if ((fds[at_port].revents & (POLLIN | POLLHUP | POLLERR)) || (!pollable && accepting))
            channel_.read_available();
        if (fds[at_port].revents & POLLOUT)
            channel_.flush_queued();
        if (fds[at_stdin].revents != 0)
            write_input();
        for (int stream : {0, 1})
            if (fds[at_stdout + stream].revents != 0)
                forward_output(outputs_[stream]);
        if (!exited_ && (fds[at_exit].revents != 0 || !exit_notifier_))
            if (auto status = process_.try_wait())
                note_exit(*status);
    }

    void housekeeping()
    {
        const auto now = monotonic_ns();
        if (now < next_housekeeping_ns_)
            return;
        next_housekeeping_ns_ = now + static_cast<std::uint64_t>(housekeeping_ms) * 1'000'000;
        reap_orphans(exited_ ? -1 : process_.pid());
    }

    // --- the host's frames ---

    void handle_buffered_frames()
    {
        while (accepting_frames()) {
            auto frame = channel_.next_buffered();
            if (!frame)
                return;
            handle(*frame);
        }
    }

    void handle(const proto::Frame& frame)
    {
        const bool stream = frame.type == proto::Type::Input ||
                            frame.type == proto::Type::Window ||
                            frame.type == proto::Type::Signal;
        if (!stream) {
            // One request at a time: the Run holds the agent.
            channel_.queue(proto::frame(
                frame.id, proto::Error{EBUSY, "the agent is busy with a running command (Run id " +
                                                  std::to_string(id_) +
                                                  "); retry when it has ended"}));
            return;
        }
        // Another id: the stream of a Run that has ended, still in flight.
        if (frame.id != id_)
            return;
        try {
            switch (frame.type) {
            case proto::Type::Input: take_input(proto::decode<proto::Input>(frame)); break;
            case proto::Type::Window: grant_output(proto::decode<proto::Window>(frame).bytes); break;
            default: deliver_signal(proto::decode<proto::Signal>(frame).number); break;
            }
        } catch (const proto::ProtocolError& error) {
            log_problem("malformed " + proto::type_name(frame.type) + " frame for Run id " +
                        std::to_string(id_) + ": " + error.what() + "; dropped");
        }
    }

    void grant_output(std::uint32_t bytes)
    {
        // Never more than the window: a host that grants what it never got
        // must not make the agent queue more than that.
        output_credit_ = std::min<std::uint64_t>(output_credit_ + bytes, proto::initial_window);
    }

    void deliver_signal(int number)
    {
        // Once reaped, its pid may name another process.
        if (exited_)
            return;
        const pid_t pid = process_.pid();
        // The command leads its process group; before its setsid it has none.
        if (::kill(-pid, number) == 0 || ::kill(pid, number) == 0)
            return;
        log_problem("cannot send signal " + std::to_string(number) + " to the command of Run id " +
                    std::to_string(id_) + ": " + errno_text(errno));
    }

    // --- the command's stdin ---

    std::size_t pending_input() const { return input_pending_.size() - input_written_; }
    bool input_waiting() const { return pending_input() > 0 || input_ending_; }

    void take_input(proto::Input input)
    {
        if (!input_ || input_ending_) {
            // Nobody will read it (no input was asked for, it has ended, the
            // command stopped reading or has exited): granted back all the
            // same, so that the host's window stays whole.
            input_to_grant_ += input.data.size();
            return;
        }
        if (input_pending_.empty())
            input_pending_ = std::move(input.data);
        else
            input_pending_ += input.data;
        input_ending_ = input.end;
        write_input();
    }

    void write_input()
    {
        while (input_ && pending_input() > 0) {
            ssize_t wrote = ::write(input_.get(), input_pending_.data() + input_written_,
                                    pending_input());
            if (wrote > 0) {
                input_written_ += static_cast<std::size_t>(wrote);
                input_to_grant_ += static_cast<std::uint64_t>(wrote);
                continue;
            }
            if (wrote < 0 && errno == EINTR)
                continue;
            if (wrote < 0 && errno == EAGAIN)
                break;
            // EPIPE, or EIO from a terminal nobody has open: the command
            // stopped reading, which is its business.
            close_input();
            return;
        }
        if (pending_input() == 0) {
            input_pending_ = std::string{};
            input_written_ = 0;
            if (input_ && input_ending_)
                end_input();
        } else if (input_written_ >= input_pending_.size() / 2) {
            // What went in goes once it is most of the buffer.
            input_pending_.erase(0, input_written_);
            input_written_ = 0;
        }
    }

    // All that came is written, and the host said that was all.
    void end_input()
    {
        if (on_terminal_) {
            ssize_t wrote = ::write(input_.get(), &end_of_file_key, 1);
            if (wrote < 0 && (errno == EAGAIN || errno == EINTR))
                return;  // again when poll says there is room
        }
        input_.reset();  // a pipe's reader sees end of file
    }

    // Drops what the command will never read, and grants it back.
    void close_input()
    {
        input_to_grant_ += pending_input();
        input_pending_ = std::string{};
        input_written_ = 0;
        input_.reset();
    }

    void grant_input()
    {
        if (input_to_grant_ == 0 || (input_to_grant_ < grant_batch && pending_input() > 0))
            return;
        while (input_to_grant_ > 0) {
            auto bytes = static_cast<std::uint32_t>(std::min<std::uint64_t>(
                input_to_grant_, std::numeric_limits<std::uint32_t>::max()));
            channel_.queue(proto::frame(id_, proto::Window{bytes}));
            input_to_grant_ -= bytes;
        }
    }

    // --- the command's output ---

    ReadOutcome forward_output(OutputStream& source)
    {
        while (source.fd) {
            if (source.drain_left && *source.drain_left == 0)
                return ReadOutcome::drained;
            if (output_credit_ == 0)
                return ReadOutcome::no_credit;
            std::size_t room = std::min<std::uint64_t>(output_credit_, proto::max_chunk);
            if (source.drain_left)
                room = std::min(room, *source.drain_left);
            // Straight from the pipe into the frame on the queue.
            char* payload = channel_.prepare_frame(proto::output_prefix_size + room);
            ssize_t got = ::read(source.fd.get(), payload + proto::output_prefix_size, room);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0 && errno == EAGAIN)
                return ReadOutcome::emptied;
            if (got <= 0) {
                // End of file; from a terminal, EIO once every process has
                // closed its slave.
                source.fd.reset();
                return ReadOutcome::ended;
            }
            auto size = static_cast<std::size_t>(got);
            output_credit_ -= size;
            if (source.drain_left)
                *source.drain_left -= size;
            proto::encode_output_prefix(payload, source.stream, static_cast<std::uint32_t>(size));
            channel_.commit_frame(proto::Type::Output, id_, proto::output_prefix_size + size);
            channel_.flush_queued();
        }
        return ReadOutcome::ended;
    }

    void note_exit(int wait_status)
    {
        exited_ = proto::Exited{shell_status(wait_status), monotonic_ns() - started_ns_};
        exit_notifier_.reset();
        for (auto& source : outputs_)
            if (source.fd)
                source.drain_left =
                    readable_now(source.fd.get()) + (on_terminal_ ? terminal_in_flight : 0);
        close_input();
    }

    // After the exit: true once each output stream has sent what it held
    // then, come to its end, or run dry. Only the window makes it wait.
    bool drain_outputs()
    {
        bool done = true;
        for (auto& source : outputs_) {
            if (!source.fd)
                continue;
            if (forward_output(source) == ReadOutcome::no_credit)
                done = false;
            else
                source.fd.reset();
        }
        return done;
    }

    // Exited and what is before it. No deadline: PID 1 waits on the
    // channel, and whether a host that stopped reading gets the guest back
    // is for the host to decide. The host's next frames stay buffered for
    // the main loop.
    void send_the_rest()
    {
        while (!channel_.flush_queued()) {
            const bool pollable = port_pollable();
            pollfd port{pollable ? channel_.fd() : -1, POLLOUT, 0};
            int ready =
                ::poll(&port, 1, pollable ? housekeeping_ms : Channel::disconnected_retry_ms);
            if (ready < 0 && errno != EINTR)
                throw_errno("cannot poll the port");
            if (port.revents & (POLLHUP | POLLERR))
                channel_.read_available();  // notes that the host has gone
            housekeeping();
        }
    }

    Channel& channel_;
    const std::uint32_t id_;
    ChildProcess process_;
    const std::uint64_t started_ns_;
    const bool on_terminal_;
    UniqueFd exit_notifier_;  // a pidfd; none if the kernel has no pidfd_open
    std::optional<proto::Exited> exited_;
    std::uint64_t next_housekeeping_ns_ = 0;

    OutputStream outputs_[2];  // stdout (or the terminal), stderr
    std::uint64_t output_credit_ = proto::initial_window;

    UniqueFd input_;
    std::string input_pending_;  // written up to input_written_
    std::size_t input_written_ = 0;
    bool input_ending_ = false;  // Input said end: close after what is pending
    std::uint64_t input_to_grant_ = 0;
};

}  // namespace

void relay(Channel& channel, std::uint32_t id, RunningCommand command)
{
    Relay{channel, id, std::move(command)}.run();
}

}  // namespace kmsdk::agent
