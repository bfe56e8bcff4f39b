// SPDX-License-Identifier: GPL-2.0
#include "measure.hpp"

#include "process.hpp"

#include "kmsdk/cache.hpp"

#include <fmt/format.h>

#include <random>
#include <regex>
#include <stdexcept>

namespace kmsdk::bench {
namespace fs = std::filesystem;
namespace {

constexpr auto cli_deadline = std::chrono::seconds(180);

double ms(std::chrono::nanoseconds duration)
{
    return std::chrono::duration<double, std::milli>(duration).count();
}

std::string random_bytes(std::size_t size, std::mt19937_64& engine)
{
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; i += 8) {
        auto word = engine();
        for (std::size_t j = 0; j < 8 && i + j < size; ++j)
            bytes[i + j] = static_cast<char>(word >> (8 * j));
    }
    return bytes;
}

}  // namespace

CliRun cli_run_true(const fs::path& kmsdk, const std::string& release, const fs::path& workdir,
                    bool cold)
{
    auto log = workdir / "kmsdk-run.log";
    CliRun run;
    // Set before the clock starts; the child inherits it.
    ScopedEnv mode{"KMSDK_COLD", cold ? "1" : nullptr};
    auto started = Clock::now();
    auto child = start({kmsdk.string(), "run", "-k", release, "--", "true"}, log);
    auto status = wait_until(child, started + cli_deadline);
    run.total_ms = ms_since(started);
    child.kill();

    auto output = read_file(log);
    std::smatch ready;
    static const std::regex ready_line{R"(ready in ([0-9.]+) s)"};
    if (std::regex_search(output, ready, ready_line))
        run.ready_ms = std::stod(ready[1]) * 1000;
    run.restored = output.find("restored from a snapshot") != std::string::npos;
    if (!status)
        run.failure = fmt::format("kmsdk run did not exit within {} s:\n{}", cli_deadline.count(),
                                  output);
    else if (*status != 0)
        run.failure = fmt::format("kmsdk run {}:\n{}", describe_wait_status(*status), output);
    else
        run.ok = true;
    return run;
}

Construction construct_guest(const std::string& release, const GuestKind& kind)
{
    auto cold = kind.cold;
    Construction result;
    // KMSDK_COLD would make a warm guest cold; the library reads it in
    // the constructor only.
    std::optional<ScopedEnv> warm;
    if (!cold)
        warm.emplace("KMSDK_COLD", nullptr);
    auto options = GuestOptions{}.kernel(release).cold(cold);
    if (!kind.staged_module.empty())
        options.module(kind.staged_module);
    if (!kind.cmdline.empty())
        options.kernel_cmdline(kind.cmdline);
    auto started = Clock::now();
    std::optional<Guest> guest{std::in_place, std::move(options)};
    result.wall_ms = ms_since(started);
    warm.reset();
    const auto& stats = guest->boot_stats();
    result.to_agent_ms = ms(stats.to_agent);
    result.staging_ms = ms(stats.staging);
    result.attempts = stats.attempts;
    result.restored = stats.restored;
    result.staged = stats.staged;
    result.snapshot_save_ms = ms(stats.snapshot_save);
    // Outside the timed part: the kernel's clock now, less the time since
    // the Hello, is its clock at the Hello. The Hello came just before the
    // staging (what follows it, a read of the kernel log, takes a few ms).
    // A restored kernel's clock started in the boot the snapshot was made
    // from, so this says nothing then.
    if (!result.restored) {
        auto hello = started + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double, std::milli>(result.wall_ms -
                                                                             result.staging_ms));
        auto uptime = guest->run("cat /proc/uptime");
        double since_hello = ms_since(hello);
        if (uptime.ok())
            result.before_kernel_ms =
                result.to_agent_ms - (std::stod(uptime.out) * 1000 - since_hello);
    }
    auto dropped = Clock::now();
    guest.reset();
    result.destroy_ms = ms_since(dropped);
    return result;
}

OperationSamples measure_operations(Guest& guest, const std::string& module, unsigned ops)
{
    OperationSamples samples;
    auto shell_cycle = fmt::format("insmod {0}.ko; rmmod {0}", module);
    for (unsigned i = 1; i <= ops; ++i) {
        check_interrupted();
        auto started = Clock::now();
        auto r = guest.run("true");
        samples.run_true_ms.push_back(ms_since(started));
        samples.run_true_guest_ms.push_back(ms(r.elapsed));
        if (!r.ok())
            throw std::runtime_error(fmt::format("run(\"true\") #{} exited {}: {}", i, r.status,
                                                 r.err));

        started = Clock::now();
        auto loaded = guest.insmod(module);
        auto removed = loaded.ok() ? guest.rmmod(module) : ModuleResult{};
        samples.cycle_ms.push_back(ms_since(started));
        samples.cycle_guest_ms.push_back(ms(loaded.elapsed + removed.elapsed));
        if (!loaded.ok() || !removed.ok())
            throw std::runtime_error(fmt::format("insmod/rmmod cycle #{}: {}{}", i,
                                                 loaded.message, removed.message));

        started = Clock::now();
        auto shell = guest.run(shell_cycle);
        samples.shell_cycle_ms.push_back(ms_since(started));
        samples.shell_cycle_guest_ms.push_back(ms(shell.elapsed));
        if (!shell.ok())
            throw std::runtime_error(fmt::format("run(\"{}\") #{} exited {}: {}{}", shell_cycle, i,
                                                 shell.status, shell.out, shell.err));
    }
    return samples;
}

ThroughputSamples measure_throughput(Guest& guest, unsigned transfers, std::size_t bytes)
{
    ThroughputSamples samples;
    std::mt19937_64 engine{20240601};
    const std::string path = "/tmp/kmsdk-bench.bin";
    auto mb_per_s = [bytes](double elapsed_ms) {
        return static_cast<double>(bytes) / 1e6 / (elapsed_ms / 1000);
    };
    for (unsigned i = 1; i <= transfers; ++i) {
        check_interrupted();
        auto data = random_bytes(bytes, engine);
        auto started = Clock::now();
        guest.write(path, data);
        samples.to_guest_mb_s.push_back(mb_per_s(ms_since(started)));

        started = Clock::now();
        auto back = guest.read(path);
        samples.from_guest_mb_s.push_back(mb_per_s(ms_since(started)));
        if (back != data)
            throw std::runtime_error(fmt::format(
                "transfer #{}: {} bytes written, {} read back, {}", i, data.size(), back.size(),
                back.size() == data.size() ? "different" : "sizes differ"));
    }
    guest.run("rm -f " + path);
    return samples;
}

}  // namespace kmsdk::bench
