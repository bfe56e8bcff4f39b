// SPDX-License-Identifier: GPL-2.0
#include "kernel_health.hpp"

#include "commands.hpp"

#include <fmt/format.h>

namespace kmsdk::cli {

void KernelHealthPolicy::add_to(CLI::App& command)
{
    command.add_flag("--allow-kernel-problems", allow_problems,
                     "Exit with the command's own status even when the kernel reported problems "
                     "(an Oops, a WARNING, a new taint...); they are still printed");
}

int KernelHealthPolicy::verdict(const HealthReport& health, int status) const
{
    if (health.healthy())
        return status;
    fmt::print(stderr, "kmsdk: the kernel reported problems:\n{}", health.describe());
    return allow_problems ? status : exit_kernel_problem;
}

}  // namespace kmsdk::cli
