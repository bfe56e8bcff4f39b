// SPDX-License-Identifier: GPL-2.0
//
// Kernel parameters, A/B: cold boots with words appended to the guest's
// kernel command line against cold boots without, alternating, on the
// same kernel in one invocation. A parameter is credited only if the
// guest's dmesg does not list it under "Unknown kernel command line
// parameters" (the kernel then hands it to init and ignores it); the
// report says which of the initcalls an initcall_blacklist= names the
// kernel really skipped.
#pragma once

#include "stats.hpp"

#include "kmsdk/kernel.hpp"

#include <string>

namespace kmsdk::bench {

struct CmdlineConfig {
    std::string append;   // the words under test, e.g. "initcall_blacklist=a,b"
    unsigned rounds = 10; // cold boots of each kind, alternating
};

KernelReport cmdline_on(const Kernel& kernel, const CmdlineConfig& config);

}  // namespace kmsdk::bench
