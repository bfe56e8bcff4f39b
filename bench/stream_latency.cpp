// SPDX-License-Identifier: GPL-2.0
#include "stream_latency.hpp"

#include "process.hpp"
#include "unique_fd.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace kmsdk::bench {

FirstLine first_line(Guest& guest)
{
    std::string seen;
    std::optional<double> first;
    auto started = Clock::now();
    Streams streams;
    streams.out = [&](std::string_view piece) {
        if (first)
            return;
        seen.append(piece);
        if (seen.find("first\n") != std::string::npos)
            first = ms_since(started);
    };
    auto result = guest.run(Command::shell("echo first; sleep 1"), streams, std::chrono::seconds(60));
    double whole = ms_since(started);
    if (!result.ok() || !first)
        throw std::runtime_error(fmt::format("streamed `echo first; sleep 1` exited {}{}",
                                             result.status,
                                             first ? "" : " and its line never reached the sink"));
    return {*first, whole};
}

std::vector<double> echo_round_trips(Guest& guest, unsigned count)
{
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) < 0)
        throw std::runtime_error(fmt::format("pipe2: {}", std::strerror(errno)));
    detail::UniqueFd read_end{ends[0]};
    detail::UniqueFd write_end{ends[1]};

    std::vector<double> samples;
    unsigned index = 0;  // the line in flight
    auto line = [&index] { return fmt::format("ping {}\n", index); };
    Clock::time_point sent;
    std::string failure;
    // Closing the pipe ends `cat` at once, rather than at run()'s deadline.
    auto fail = [&](std::string what) {
        failure = std::move(what);
        write_end.reset();
    };
    // A few bytes into an empty pipe: never blocks, so it may run in the sink.
    auto send = [&] {
        auto text = line();
        if (::write(write_end.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
            fail(fmt::format("writing line {} into the pipe: {}", index, std::strerror(errno)));
        sent = Clock::now();
    };

    std::string pending;
    Streams streams;
    streams.in = InputSource::descriptor(read_end.get());
    // Runs on this thread, inside run(): the next line goes out as soon as
    // the last one is back, and its end of file ends `cat`.
    streams.out = [&](std::string_view piece) {
        pending.append(piece);
        while (failure.empty() && write_end) {
            auto expected = line();
            if (pending.size() < expected.size()) {
                if (!expected.starts_with(pending))
                    fail(fmt::format("expected \"{}\", got \"{}\"", expected, pending));
                return;
            }
            if (!pending.starts_with(expected)) {
                fail(fmt::format("expected \"{}\", got \"{}\"", expected, pending));
                return;
            }
            if (index > 0)
                samples.push_back(ms_since(sent));
            pending.erase(0, expected.size());
            if (++index > count) {
                write_end.reset();
                return;
            }
            send();
        }
    };
    send();
    auto result = guest.run(Command{{"cat"}}, streams, std::chrono::seconds(120));
    if (!failure.empty())
        throw std::runtime_error("round trips through a streamed `cat`: " + failure);
    if (!result.ok() || samples.size() != count)
        throw std::runtime_error(fmt::format("streamed `cat` exited {} after {} round trips of {}",
                                             result.status, samples.size(), count));
    return samples;
}

}  // namespace kmsdk::bench
