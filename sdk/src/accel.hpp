// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <functional>
#include <string>

namespace kmsdk::detail {

// The accelerator guests run with. `requested` (an option) wins, then
// $KMSDK_ACCEL. Otherwise KVM only where a real guest was seen to boot
// with it: /dev/kvm can exist and still hang every guest (docs/DESIGN.md,
// "The guest recipe"), so `probe("kvm")` boots one under a short deadline.
// The verdict is cached per host boot, so the probe's cost is paid once.
std::string choose_accel(const std::string& requested,
                         const std::function<bool(const std::string&)>& probe);

}  // namespace kmsdk::detail
