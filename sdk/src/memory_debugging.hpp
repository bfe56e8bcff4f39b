// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "kmsdk/kernel.hpp"

#include <string>
#include <vector>

namespace kmsdk::detail {

// The kernel parameters that turn on the memory-error detectors `kernel`
// was built with (GuestOptions::debug_memory), by its config:
//
//   CONFIG_SLUB_DEBUG      slub_debug=FZPU    (consistency checks, red zones,
//                                              poison, owner tracking)
//   CONFIG_KFENCE          kfence.sample_interval=1   (Debian builds it with
//                                              sampling off: 0)
//   CONFIG_PAGE_POISONING  page_poison=1
//   (every kernel)         init_on_free=1
std::vector<std::string> memory_debugging_parameters(const Kernel& kernel);

// Whether $KMSDK_DEBUG_MEMORY asks for them (set, and not "0").
bool memory_debugging_by_environment();

}  // namespace kmsdk::detail
