// SPDX-License-Identifier: GPL-2.0
#include "streaming.hpp"

#include "agent_memory.hpp"
#include "measure.hpp"
#include "measure_part.hpp"
#include "process.hpp"
#include "signal_cost.hpp"
#include "stream_latency.hpp"
#include "stream_transfer.hpp"
#include "temp_dir.hpp"
#include "unique_fd.hpp"

#include "kmsdk/guest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace kmsdk::bench {
namespace fs = std::filesystem;
namespace {

std::string size_text(std::size_t bytes)
{
    if (bytes >= (std::size_t{1} << 30) && bytes % (std::size_t{1} << 30) == 0)
        return fmt::format("{} GiB", bytes >> 30);
    if (bytes % (std::size_t{1} << 20) == 0)
        return fmt::format("{} MiB", bytes >> 20);
    return fmt::format("{} bytes", bytes);
}

// A file of zeros that takes no disk (a hole): what `kmsdk run < file`
// would forward, read from the page cache at memory speed.
class ZeroFile {
public:
    ZeroFile(const fs::path& path, std::size_t bytes) : path_{path}
    {
        detail::UniqueFd fd{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
        if (!fd || ::ftruncate(fd.get(), static_cast<off_t>(bytes)) < 0)
            throw std::runtime_error(fmt::format("cannot make {}: {}", path.string(),
                                                 std::strerror(errno)));
    }
    // Opened afresh for each run, so each reads from the start.
    detail::UniqueFd open() const
    {
        detail::UniqueFd fd{::open(path_.c_str(), O_RDONLY | O_CLOEXEC)};
        if (!fd)
            throw std::runtime_error(fmt::format("cannot open {}: {}", path_.string(),
                                                 std::strerror(errno)));
        return fd;
    }

private:
    fs::path path_;
};

struct Samples {
    std::vector<double> head_mb_s, head_guest_mb_s, head_devnull_mb_s;
    std::vector<double> out_mb_s, out_guest_mb_s, out_devnull_mb_s;
    std::vector<double> out_baseline_agent_mb_s;  // the same through --baseline-agent
    std::vector<double> big_mb_s, big_guest_mb_s;
    std::vector<double> in_mb_s, in_guest_mb_s, in_fd_mb_s, pipe_mb_s;
    std::vector<double> read_mb_s, write_mb_s;  // Guest::read / Guest::write of 1 MiB
    std::vector<double> first_line_ms, whole_run_ms, round_trip_ms;
    std::vector<double> signal_ms, cli_signal_ms, cli_started_ms;
    std::optional<AgentMemory> before_big, after_big, after_rounds;
    std::optional<double> hwm_since_start;  // before the reset
    bool peak_reset = false;
};

// Each kind of measurement, run once a round: a failure is counted, and
// the first of each kind is kept for the report; the other kinds go on.
class Tally {
public:
    explicit Tally(KernelReport& report) : report_{report} {}
    void attempt(const std::string& kind, const std::function<void()>& measure)
    {
        check_interrupted();
        try {
            measure();
        } catch (const std::exception& error) {
            if (failures_[kind]++ == 0)
                report_.errors.push_back(fmt::format("{}: {}", kind, error.what()));
        }
    }
    std::string describe() const
    {
        std::vector<std::string> parts;
        for (const auto& [kind, count] : failures_)
            parts.push_back(fmt::format("{} {}", kind, count));
        return parts.empty() ? "none" : fmt::format("{}", fmt::join(parts, ", "));
    }

private:
    KernelReport& report_;
    std::map<std::string, unsigned> failures_;
};


std::optional<double> median(const std::vector<double>& samples)
{
    if (samples.empty())
        return std::nullopt;
    return summarize(samples).median;
}

// A transfer rate, beside the whole-file call it improves on and its goal.
void add_rate(KernelReport& report, std::string key, std::string label,
              const std::vector<double>& samples, std::string baseline_label,
              const std::vector<double>& baseline, double target)
{
    auto& figure = add(report, std::move(key), std::move(label), Unit::mb_per_s);
    figure.samples = samples;
    figure.naive_label = std::move(baseline_label);
    figure.naive = baseline;
    figure.target = target;
}

void add_figures(KernelReport& report, const Samples& s, const StreamingConfig& config) {
    auto head = size_text(config.head_bytes);
    add_rate(report, "stream_out_head",
             fmt::format("streamed `head -c {} /dev/zero` (guest → host)", head), s.head_mb_s,
             "Guest::read 1 MiB", s.read_mb_s, 50);
    add(report, "stream_out_head_guest", "  by the command's elapsed in the guest",
               Unit::mb_per_s)
        .samples = s.head_guest_mb_s;
    add(report, "ceiling_head",
               fmt::format("  ceiling: `head -c {} /dev/zero >/dev/null`", head), Unit::mb_per_s)
        .samples = s.head_devnull_mb_s;

    auto size = size_text(config.stream_bytes);
    add_rate(report, "stream_out",
             fmt::format("streamed `dd` of {} from /dev/zero (guest → host)", size), s.out_mb_s,
             "Guest::read 1 MiB", s.read_mb_s, 50);
    add(report, "stream_out_guest", "  by the command's elapsed in the guest",
               Unit::mb_per_s)
        .samples = s.out_guest_mb_s;
    add(report, "ceiling_dd", "  ceiling: the same `dd` >/dev/null in the guest",
               Unit::mb_per_s)
        .samples = s.out_devnull_mb_s;
    if (!config.baseline_agent.empty())
        add_rate(report, "stream_out_agent_ab",
                 fmt::format("streamed `dd` of {} out, this agent against --baseline-agent", size),
                 s.out_mb_s, "the same through --baseline-agent", s.out_baseline_agent_mb_s, 50);
    auto big = size_text(config.big_bytes);
    add_rate(report, "stream_out_big", fmt::format("streamed `dd` of {}, once", big), s.big_mb_s,
             "Guest::read 1 MiB", s.read_mb_s, 50);
    add(report, "stream_out_big_guest", "  by the command's elapsed in the guest",
               Unit::mb_per_s)
        .samples = s.big_guest_mb_s;

    add_rate(report, "stream_in",
             fmt::format("InputSource::bytes({}) into `dd` (host → guest)", size), s.in_mb_s,
             "Guest::write 1 MiB", s.write_mb_s, 20);
    add(report, "stream_in_guest", "  by the command's elapsed in the guest", Unit::mb_per_s)
        .samples = s.in_guest_mb_s;
    add_rate(report, "stream_in_fd",
             fmt::format("InputSource::descriptor(a {} file) into `dd`", size), s.in_fd_mb_s,
             "Guest::write 1 MiB", s.write_mb_s, 20);
    add(report, "ceiling_pipe", "  ceiling: `dd … | dd …` in the guest (one vCPU for both)",
               Unit::mb_per_s)
        .samples = s.pipe_mb_s;

    auto& first = add(
        report, "first_line",
        "first line of streamed `echo first; sleep 1`: run() called → in the sink", Unit::ms);
    first.samples = s.first_line_ms;
    first.naive_label = "the whole run, as a collecting run() gives it";
    first.naive = s.whole_run_ms;
    auto& trip = add(report, "line_round_trip",
                            "a line's round trip: pipe → streamed `cat` → sink", Unit::ms);
    trip.samples = s.round_trip_ms;
    trip.target = 50;

    add(report, "signal_library", "SIGTERM via GuestOptions::signals → run() returns 143",
               Unit::ms)
        .samples = s.signal_ms;
    add(report, "signal_cli", "`kmsdk run`: kill(SIGTERM) → it exits 143", Unit::ms)
        .samples = s.cli_signal_ms;
    add(report, "cli_started", "  `kmsdk run` spawned → \"started\" on its stdout (warm)",
               Unit::ms)
        .samples = s.cli_started_ms;

    auto memory = [&](std::string key, std::string label, std::optional<double> value) {
        if (value)
            add(report, std::move(key), std::move(label), Unit::mb).samples = {*value};
    };
    memory("agent_hwm_start",
           fmt::format("agent VmHWM before the {} run (peak since it started)", big),
           s.hwm_since_start);
    if (s.before_big)
        memory("agent_rss_before", fmt::format("agent VmRSS before the {} run", big),
               s.before_big->rss_mb);
    if (s.after_big) {
        memory("agent_hwm_after",
               s.peak_reset ? "agent VmHWM after it (peak reset just before it)"
                            : "agent VmHWM after it (peak since it started)",
               s.after_big->hwm_mb);
        memory("agent_rss_after", "agent VmRSS after it", s.after_big->rss_mb);
    }
    if (s.after_rounds)
        memory("agent_hwm_rounds", "agent VmHWM after every round too", s.after_rounds->hwm_mb);
}

// How far the streamed path gets towards what the guest does alone.
void add_ratio_notes(KernelReport& report, const Samples& s)
{
    auto ratio = [&](const std::vector<double>& a, const std::vector<double>& b) {
        auto x = median(a);
        auto y = median(b);
        return x && y && *y > 0 ? fmt::format("{:.2f}", *x / *y) : std::string{"—"};
    };
    report.notes.push_back(fmt::format(
        "streamed (host wall) ÷ the in-guest ceiling, medians: `head -c` out {}, `dd` out {}, "
        "`dd` in {} (of `dd | dd`)",
        ratio(s.head_mb_s, s.head_devnull_mb_s), ratio(s.out_mb_s, s.out_devnull_mb_s),
        ratio(s.in_mb_s, s.pipe_mb_s)));
    report.notes.push_back(fmt::format(
        "the command's own elapsed ÷ host wall, as rates (what run() adds around the command): "
        "`head -c` out {}, `dd` out {}, `dd` in {}",
        ratio(s.head_guest_mb_s, s.head_mb_s), ratio(s.out_guest_mb_s, s.out_mb_s),
        ratio(s.in_guest_mb_s, s.in_mb_s)));
}

}  // namespace

KernelReport streaming_on(const Kernel& kernel, const StreamingConfig& config)
{
    KernelReport report;
    report.release = kernel.release();
    report.title = "Streaming, " + kernel.release();
    report.baseline_heading = "baseline, median";
    report.ratio_heading = "× better";
    const auto& release = kernel.release();
    Samples s;
    Tally tally{report};
    try {
        SignalPipe signals;
        detail::TempDir scratch{"kmsdk-bench-stream"};
        ZeroFile zeros_file{scratch.path() / "zeros.bin", config.stream_bytes};
        const std::string zeros(config.stream_bytes, '\0');

        std::optional<Guest> made;
        {
            // Warm, as a user's guest is by default.
            ScopedEnv warm{"KMSDK_COLD", nullptr};
            made.emplace(GuestOptions{}.kernel(release).signals(signals.read_end()));
        }
        auto& guest = *made;
        std::optional<Guest> baseline;
        if (!config.baseline_agent.empty()) {
            ScopedEnv agent{"KMSDK_AGENT", config.baseline_agent.c_str()};
            baseline.emplace(GuestOptions{}.kernel(release).cold());
            report.notes.push_back(fmt::format("A/B: a second guest (booted) runs the agent {}",
                                               config.baseline_agent.string()));
        }
        report.notes.push_back(fmt::format(
            "one guest ({}), {} rounds, each: {} out through `head -c`, {} each way through `dd`, "
            "Guest::write and Guest::read of 1 MiB, the three in-guest ceilings, the first line, "
            "{} round trips through `cat`, SIGTERM through the library and through `kmsdk run`; "
            "order reversed every other round",
            guest.boot_stats().restored ? "restored from a snapshot" : "booted", config.runs,
            size_text(config.head_bytes), size_text(config.stream_bytes), config.round_trips));

        // Once each, unrecorded: the guest's translation cache (TCG) and
        // the host's page cache hold what the rounds run.
        fmt::print(stderr, "{}: streaming: warming up\n", release);
        constexpr std::size_t small = std::size_t{16} << 20;
        (void)stream_out(guest, dd_zeros(small), small);
        if (baseline)
            (void)stream_out(*baseline, dd_zeros(small), small);
        (void)stream_out(guest, fmt::format("head -c {} /dev/zero", small / 16), small / 16);
        (void)stream_into_dd(guest, InputSource::bytes(std::string(small, '\0')), small);
        (void)first_line(guest);
        (void)echo_round_trips(guest, 3);
        (void)measure_throughput(guest, 1, std::size_t{1} << 20);
        (void)library_signal_to_exit(guest, signals);
        if (auto cli = cli_signal_to_exit(config.kmsdk_cli, release, scratch.path()); !cli.ok)
            report.errors.push_back("kmsdk run with SIGTERM (warm-up): " + cli.failure);

        if (config.big_bytes > 0)
            measure_part(report, fmt::format("streaming {}", size_text(config.big_bytes)), [&] {
                fmt::print(stderr, "{}: streaming {} once\n", release,
                           size_text(config.big_bytes));
                s.hwm_since_start = agent_memory(guest).hwm_mb;
                s.peak_reset = reset_agent_peak(guest);
                if (!s.peak_reset)
                    report.notes.emplace_back("/proc/1/clear_refs refused 5: VmHWM is the agent's "
                                              "peak since it started");
                s.before_big = agent_memory(guest);
                auto big = stream_out(guest, dd_zeros(config.big_bytes), config.big_bytes);
                s.after_big = agent_memory(guest);
                s.big_mb_s.push_back(big.host_mb_s());
                s.big_guest_mb_s.push_back(big.guest_mb_s());
            });

        const auto dd_out = dd_zeros(config.stream_bytes);
        const auto head_out = fmt::format("head -c {} /dev/zero", config.head_bytes);
        std::vector<std::pair<std::string, std::function<void()>>> steps = {
            {"streamed head -c", [&] {
                 auto t = stream_out(guest, head_out, config.head_bytes);
                 s.head_mb_s.push_back(t.host_mb_s());
                 s.head_guest_mb_s.push_back(t.guest_mb_s());
             }},
            {"streamed dd out", [&] {
                 auto t = stream_out(guest, dd_out, config.stream_bytes);
                 s.out_mb_s.push_back(t.host_mb_s());
                 s.out_guest_mb_s.push_back(t.guest_mb_s());
             }},
            {"streamed dd out through --baseline-agent", [&] {
                 if (baseline)
                     s.out_baseline_agent_mb_s.push_back(
                         stream_out(*baseline, dd_out, config.stream_bytes).host_mb_s());
             }},
            {"streamed input (bytes)", [&] {
                 auto input = InputSource::bytes(zeros);  // the copy is made before the clock starts
                 auto t = stream_into_dd(guest, std::move(input), config.stream_bytes);
                 s.in_mb_s.push_back(t.host_mb_s());
                 s.in_guest_mb_s.push_back(t.guest_mb_s());
             }},
            {"streamed input (descriptor)", [&] {
                 auto fd = zeros_file.open();
                 auto t = stream_into_dd(guest, InputSource::descriptor(fd.get()),
                                         config.stream_bytes);
                 s.in_fd_mb_s.push_back(t.host_mb_s());
             }},
            {"Guest::write and Guest::read of 1 MiB", [&] {
                 auto t = measure_throughput(guest, 1, std::size_t{1} << 20);
                 s.write_mb_s.insert(s.write_mb_s.end(), t.to_guest_mb_s.begin(),
                                     t.to_guest_mb_s.end());
                 s.read_mb_s.insert(s.read_mb_s.end(), t.from_guest_mb_s.begin(),
                                    t.from_guest_mb_s.end());
             }},
            {"in-guest ceiling head -c", [&] {
                 s.head_devnull_mb_s.push_back(
                     in_guest_only(guest, head_out + " >/dev/null", config.head_bytes).guest_mb_s());
             }},
            {"in-guest ceiling dd", [&] {
                 s.out_devnull_mb_s.push_back(
                     in_guest_only(guest, dd_out + " >/dev/null", config.stream_bytes).guest_mb_s());
             }},
            {"in-guest ceiling dd | dd", [&] {
                 s.pipe_mb_s.push_back(in_guest_only(guest, dd_out + " | " + dd_sink(),
                                                     config.stream_bytes, true)
                                           .guest_mb_s());
             }},
            {"first line", [&] {
                 auto line = first_line(guest);
                 s.first_line_ms.push_back(line.first_ms);
                 s.whole_run_ms.push_back(line.whole_ms);
             }},
            {"round trips through cat", [&] {
                 auto trips = echo_round_trips(guest, config.round_trips);
                 s.round_trip_ms.insert(s.round_trip_ms.end(), trips.begin(), trips.end());
             }},
            {"SIGTERM through GuestOptions::signals",
             [&] { s.signal_ms.push_back(library_signal_to_exit(guest, signals)); }},
            {"kmsdk run with SIGTERM", [&] {
                 auto cli = cli_signal_to_exit(config.kmsdk_cli, release, scratch.path());
                 if (!cli.ok)
                     throw std::runtime_error(cli.failure);
                 s.cli_signal_ms.push_back(cli.signal_to_exit_ms);
                 s.cli_started_ms.push_back(cli.started_ms);
             }},
        };
        for (unsigned round = 0; round < config.runs; ++round) {
            // Turned around every other round, so no step always follows another.
            if (round % 2 == 0)
                for (auto& [kind, step] : steps)
                    tally.attempt(kind, step);
            else
                for (auto it = steps.rbegin(); it != steps.rend(); ++it)
                    tally.attempt(it->first, it->second);
            fmt::print(stderr, "{}: streaming: round {}/{}\n", release, round + 1, config.runs);
        }
        measure_part(report, "the agent's memory after the rounds",
                     [&] { s.after_rounds = agent_memory(guest); });
        auto health = guest.health();
        if (!health.healthy())
            report.errors.push_back("the guest is not healthy after the measurements:\n" +
                                    health.describe());
        report.notes.push_back("failed samples: " + tally.describe());
    } catch (const std::exception& error) {
        report.errors.emplace_back(error.what());
    }
    add_figures(report, s, config);
    add_ratio_notes(report, s);
    return report;
}

}  // namespace kmsdk::bench
