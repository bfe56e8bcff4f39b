// SPDX-License-Identifier: GPL-2.0
//
// Shared clones: N guests restored from one snapshot at the same time,
// against N guests booted cold at the same time. Restored guests map the
// snapshot's RAM file copy-on-write, so the pages none of them wrote are
// the page cache's, once for all of them: their proportional set size
// (PSS) shows it, their RSS does not (each counts shared pages whole).
#pragma once

#include "stats.hpp"

#include "kmsdk/kernel.hpp"

namespace kmsdk::bench {

struct ClonesConfig {
    unsigned guests = 4;  // started at once
    unsigned rounds = 3;  // of each kind, alternating
};

KernelReport clones_on(const Kernel& kernel, const ClonesConfig& config);

}  // namespace kmsdk::bench
