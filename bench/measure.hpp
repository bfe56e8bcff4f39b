// SPDX-License-Identifier: GPL-2.0
//
// The kmsdk side of each comparison: the `kmsdk run` command as a user
// runs it, the Guest's boot (cold) or restore (warm), and what one booted
// guest costs per operation. Every time is host wall time unless its name says otherwise.
#pragma once

#include "kmsdk/guest.hpp"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kmsdk::bench {

struct CliRun {
    bool ok = false;
    double total_ms = 0;               // spawn to exit
    std::optional<double> ready_ms;    // what kmsdk printed: "guest … ready in X s"
    bool restored = false;             // it printed "restored from a snapshot"
    std::string failure;
};

// `kmsdk run -k <release> -- true`, spawned as a process, to its exit.
// Cold: with KMSDK_COLD=1 in its environment; warm: with KMSDK_COLD removed
// from it, so it restores the snapshot if there is one.
CliRun cli_run_true(const std::filesystem::path& kmsdk, const std::string& release,
                    const std::filesystem::path& workdir, bool cold);

struct Construction {
    double wall_ms = 0;      // Guest constructor, host wall time
    double to_agent_ms = 0;  // BootStats::to_agent: QEMU start to the agent's Hello
    double staging_ms = 0;   // BootStats::staging: files and the boot pass
    double destroy_ms = 0;   // Guest destructor (kills QEMU)
    // to_agent minus the guest kernel's clock at the Hello (read back from
    // /proc/uptime): QEMU's start, qboot, loading the PVH kernel. Booted
    // guests only: a restored kernel's clock went on from the snapshot's.
    std::optional<double> before_kernel_ms;
    unsigned attempts = 0;
    bool restored = false;       // BootStats::restored
    bool staged = false;         // BootStats::staged: from a staged snapshot
    double snapshot_save_ms = 0; // BootStats::snapshot_save: this boot made the snapshot
};

// What the guest of construct_guest() is given.
struct GuestKind {
    explicit GuestKind(bool cold, std::filesystem::path staged_module = {}, std::string cmdline = {})
        : cold{cold}, staged_module{std::move(staged_module)}, cmdline{std::move(cmdline)}
    {
    }
    bool cold;
    std::filesystem::path staged_module;  // none: nothing is staged
    std::string cmdline;                  // appended to the kernel command line
};

// A guest as `kmsdk run -- true` makes it, then dropped: cold, with
// GuestOptions::cold(); else it restores the snapshot (KMSDK_COLD is
// removed meanwhile). Throws BootError when it does not come up.
Construction construct_guest(const std::string& release, const GuestKind& kind);

struct OperationSamples {
    std::vector<double> run_true_ms, run_true_guest_ms;
    std::vector<double> cycle_ms, cycle_guest_ms;
    std::vector<double> shell_cycle_ms, shell_cycle_guest_ms;
};

// `ops` rounds of: run("true"); insmod + rmmod of `module` through the
// agent; the same through busybox in one run(). Interleaved, so each
// sees the same conditions. Throws when any of them fails.
OperationSamples measure_operations(Guest& guest, const std::string& module, unsigned ops);

struct ThroughputSamples {
    std::vector<double> to_guest_mb_s, from_guest_mb_s;
};

// `transfers` rounds of writing `bytes` random bytes into the guest and
// reading them back, checked identical. MB is 10^6 bytes.
ThroughputSamples measure_throughput(Guest& guest, unsigned transfers, std::size_t bytes);

}  // namespace kmsdk::bench
