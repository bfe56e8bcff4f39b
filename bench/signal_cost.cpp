// SPDX-License-Identifier: GPL-2.0
#include "signal_cost.hpp"

#include "process.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <stdexcept>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace kmsdk::bench {
namespace fs = std::filesystem;
namespace {

const char* const started_line = "started\n";
const char* const script = "echo started; exec sleep 30";
constexpr int expected_status = 128 + SIGTERM;

}  // namespace

SignalPipe::SignalPipe()
{
    int ends[2];
    // Non-blocking, as the CLI's: the library drains it until it is empty.
    if (::pipe2(ends, O_NONBLOCK | O_CLOEXEC) < 0)
        throw std::runtime_error(fmt::format("pipe2: {}", std::strerror(errno)));
    read_.reset(ends[0]);
    write_.reset(ends[1]);
}

void SignalPipe::send(int signal) const
{
    auto byte = static_cast<unsigned char>(signal);
    if (::write(write_.get(), &byte, 1) != 1)
        throw std::runtime_error(fmt::format("writing to the signal pipe: {}", std::strerror(errno)));
}

double library_signal_to_exit(Guest& guest, const SignalPipe& pipe)
{
    std::string seen;
    std::optional<Clock::time_point> sent;
    Streams streams;
    // The sink runs on this thread, inside run(), as a signal handler's
    // write would land meanwhile: the library sees the byte on its next poll.
    streams.out = [&](std::string_view piece) {
        if (sent)
            return;
        seen.append(piece);
        if (seen.find(started_line) != std::string::npos) {
            pipe.send(SIGTERM);
            sent = Clock::now();
        }
    };
    auto result = guest.run(Command::shell(script), streams, std::chrono::seconds(60));
    auto returned = Clock::now();
    if (!sent || result.status != expected_status)
        throw std::runtime_error(fmt::format("streamed `{}` with SIGTERM through "
                                             "GuestOptions::signals exited {}{} (expected {})",
                                             script, result.status,
                                             sent ? "" : ", without printing \"started\"",
                                             expected_status));
    return std::chrono::duration<double, std::milli>(returned - *sent).count();
}

CliSignal cli_signal_to_exit(const fs::path& kmsdk, const std::string& release,
                             const fs::path& workdir)
{
    CliSignal run;
    auto fifo = workdir / "cli-signal.fifo";
    std::error_code ignored;
    fs::remove(fifo, ignored);
    if (::mkfifo(fifo.c_str(), 0600) < 0)
        throw std::runtime_error(fmt::format("mkfifo {}: {}", fifo.string(), std::strerror(errno)));
    // Opened before the child: its (the parent's, before fork) open for
    // writing then finds a reader and does not block.
    detail::UniqueFd reader{::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
    if (!reader)
        throw std::runtime_error(fmt::format("open {}: {}", fifo.string(), std::strerror(errno)));

    std::optional<Child> child;
    auto spawned = Clock::now();
    {
        // Warm, as a user's `kmsdk run` is by default.
        ScopedEnv warm{"KMSDK_COLD", nullptr};
        child.emplace(start({kmsdk.string(), "run", "-k", release, "--", "sh", "-c", script},
                            fifo));
    }
    const auto deadline = spawned + std::chrono::seconds(120);
    std::string output;
    std::optional<Clock::time_point> signalled;
    std::optional<int> status;
    bool reading = true;
    while (!status && Clock::now() < deadline && !interrupted()) {
        pollfd fds[2] = {{reading ? reader.get() : -1, POLLIN, 0}, {child->pidfd(), POLLIN, 0}};
        if (::poll(fds, 2, 200) < 0 && errno != EINTR)
            throw std::runtime_error(fmt::format("poll: {}", std::strerror(errno)));
        if (fds[1].revents & POLLIN) {
            // Timed before draining what it wrote last.
            auto exited = Clock::now();
            status = child->poll();
            if (signalled)
                run.signal_to_exit_ms =
                    std::chrono::duration<double, std::milli>(exited - *signalled).count();
        }
        if (fds[0].revents & (POLLIN | POLLHUP)) {
            char buffer[4096];
            auto got = ::read(reader.get(), buffer, sizeof buffer);
            if (got > 0)
                output.append(buffer, static_cast<std::size_t>(got));
            else if (got == 0)
                reading = false;  // every writer is gone
        }
        if (!signalled && output.find(started_line) != std::string::npos) {
            run.started_ms = ms_since(spawned);
            ::kill(child->pid(), SIGTERM);
            signalled = Clock::now();
        }
    }
    child->kill();
    if (!signalled)
        run.failure = fmt::format("kmsdk run never printed \"started\"{}:\n{}",
                                  status ? "; it " + describe_wait_status(*status)
                                         : " within 120 s",
                                  output);
    else if (!status)
        run.failure = fmt::format("kmsdk run did not exit within {:.0f} s of SIGTERM:\n{}",
                                  ms_since(*signalled) / 1000, output);
    else if (!WIFEXITED(*status) || WEXITSTATUS(*status) != expected_status)
        run.failure = fmt::format("kmsdk run {} after SIGTERM (expected status {}):\n{}",
                                  describe_wait_status(*status), expected_status, output);
    else
        run.ok = true;
    return run;
}

}  // namespace kmsdk::bench
