// SPDX-License-Identifier: GPL-2.0
//
// Recovery after an Oops, as a test suite lives through it: a module
// Oopses, check_healthy() throws GuestUnhealthy, and the next command finds
// a healthy guest again. Warm, the runtime restores the snapshot instead
// of booting; cold (GuestOptions::cold()) is the baseline it replaces.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kmsdk::bench {

struct RecoverySamples {
    // From the start of the faulting write to health() healthy again.
    std::vector<double> total_ms;
    // The write that Oopses, then check_healthy() throwing GuestUnhealthy.
    std::vector<double> detect_ms;
    // From there: run("true") (which reboots or restores the guest, and
    // stages it again) and health() healthy.
    std::vector<double> back_ms;
    // BootStats::staging of that reboot or restore: kms_fault_oops.ko
    // written into the guest, then the boot pass (depmod, modules-load.d,
    // coldplug).
    std::vector<double> staging_ms;
    // Warm recoveries whose guest booted rather than restored.
    unsigned not_restored = 0;
    // Warm recoveries that restored the snapshot and staged again, though
    // staged snapshots were on.
    unsigned not_staged = 0;
};

// One guest staged with `oops_ko` (kms_fault_oops.ko), `rounds` times:
// insmod it and check the guest is healthy (not timed), then time the
// write to /dev/kms_fault_oops, the GuestUnhealthy and the way back.
// Throws when any step does not go as described. Warm guests restore
// their staged snapshot, unless `staged_snapshots` is false
// (KMSDK_STAGED_SNAPSHOT_LIMIT=0): then they restore the snapshot and
// stage again.
RecoverySamples measure_oops_recovery(const std::string& release,
                                      const std::filesystem::path& oops_ko, unsigned rounds,
                                      bool cold, bool staged_snapshots = true);

}  // namespace kmsdk::bench
