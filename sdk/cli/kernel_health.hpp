// SPDX-License-Identifier: GPL-2.0
// Kernel problems fail a command that booted a guest: an Oops, BUG,
// WARNING, lockup, hung task, KFENCE or SLUB report, or a new taint other
// than O and E, even when the command itself succeeded. One verdict for
// run, cycle and tour.
#pragma once

#include "kmsdk/guest.hpp"

#include <CLI/CLI.hpp>

namespace kmsdk::cli {

struct KernelHealthPolicy {
    bool allow_problems = false;

    // --allow-kernel-problems
    void add_to(CLI::App& command);

    // The status to exit with, given the one the command earned and what
    // the kernel reported meanwhile: exit_kernel_problem unless allowed.
    // The report goes to stderr either way.
    int verdict(const HealthReport& health, int status) const;
};

}  // namespace kmsdk::cli
