// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "kmsdk/guest.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace kmsdk::cli {

// The options every command that boots a guest takes.
struct GuestFlags {
    std::string kernel;
    std::vector<std::string> devices;
    std::vector<std::string> modules;
    std::vector<std::string> kernel_modules;
    std::vector<std::string> modprobe_confs;
    std::vector<std::string> modules_load;
    std::vector<std::string> programs;  // HOST_PATH[:GUEST_PATH]
    std::string append;
    unsigned memory_mb = 256;
    unsigned cpus = 1;
    bool cold = false;
    bool debug_memory = false;
    bool quiet = false;
    bool allow_release_mismatch = false;
    // Not a flag: set by `kmsdk debug` (GuestOptions::gdb_stub()).
    bool gdb_stub = false;

    void add_to(CLI::App& command);
    GuestOptions options() const;
};

// Boots (or restores) the guest the flags describe, saying on stderr which
// it did and how long it took, unless quiet. SIGINT, SIGTERM and SIGHUP go
// to its commands from now on (forwarded_signals.hpp).
Guest boot_guest(const GuestFlags& flags);

}  // namespace kmsdk::cli
