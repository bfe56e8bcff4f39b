// SPDX-License-Identifier: GPL-2.0
//
// What the figures were measured on: date, CPUs, QEMU, load.
#pragma once

#include "stats.hpp"

#include <string>

namespace kmsdk::bench {

Environment describe_environment(const std::string& accel);

// The first three fields of /proc/loadavg.
std::string load_average();

}  // namespace kmsdk::bench
