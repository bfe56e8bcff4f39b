// SPDX-License-Identifier: GPL-2.0
#include "recovery.hpp"

#include "process.hpp"

#include "kmsdk/guest.hpp"

#include <fmt/format.h>

#include <chrono>
#include <optional>
#include <stdexcept>

namespace kmsdk::bench {

RecoverySamples measure_oops_recovery(const std::string& release,
                                      const std::filesystem::path& oops_ko, unsigned rounds,
                                      bool cold, bool staged_snapshots)
{
    RecoverySamples samples;
    std::optional<Guest> guest;
    {
        // KMSDK_COLD would make the warm guest cold; it is read here only.
        std::optional<ScopedEnv> warm;
        if (!cold)
            warm.emplace("KMSDK_COLD", nullptr);
        std::optional<ScopedEnv> unstaged;
        if (!staged_snapshots)
            unstaged.emplace("KMSDK_STAGED_SNAPSHOT_LIMIT", "0");
        guest.emplace(GuestOptions{}.kernel(release).module(oops_ko).cold(cold));
    }
    for (unsigned i = 1; i <= rounds; ++i) {
        check_interrupted();
        auto loaded = guest->insmod("kms_fault_oops");
        if (!loaded.ok())
            throw std::runtime_error(fmt::format("recovery #{}: insmod kms_fault_oops: {}", i,
                                                 loaded.message));
        // A clean start: only what the write below does counts.
        guest->check_healthy();

        auto started = Clock::now();
        // echo is the shell's own: the Oops kills the shell that writes.
        auto fault = guest->run("echo 1 > /dev/kms_fault_oops");
        if (fault.status != 128 + 9)
            throw std::runtime_error(fmt::format(
                "recovery #{}: the write to /dev/kms_fault_oops exited {}, not 137 (killed by "
                "the Oops): {}{}",
                i, fault.status, fault.out, fault.err));
        bool detected = false;
        try {
            guest->check_healthy();
        } catch (const GuestUnhealthy&) {
            detected = true;
        }
        if (!detected)
            throw std::runtime_error(
                fmt::format("recovery #{}: check_healthy() did not throw after the Oops", i));
        samples.detect_ms.push_back(ms_since(started));

        auto back = Clock::now();
        auto r = guest->run("true");
        if (!r.ok())
            throw std::runtime_error(
                fmt::format("recovery #{}: run(\"true\") after the Oops exited {}: {}", i,
                            r.status, r.err));
        auto health = guest->health();
        if (!health.healthy())
            throw std::runtime_error(fmt::format(
                "recovery #{}: the guest is not healthy after the Oops:\n{}", i,
                health.describe()));
        samples.back_ms.push_back(ms_since(back));
        samples.total_ms.push_back(ms_since(started));
        const auto& stats = guest->boot_stats();
        samples.staging_ms.push_back(
            std::chrono::duration<double, std::milli>(stats.staging).count());
        samples.not_restored += !cold && !stats.restored;
        samples.not_staged += !cold && staged_snapshots && !stats.staged;
    }
    guest->shutdown();
    return samples;
}

}  // namespace kmsdk::bench
