// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "kmsdk/kernel.hpp"

#include <filesystem>

namespace kmsdk::detail {

// The least memory, in MiB, a guest of `kernel` with this initramfs boots
// in: the kernel's loaded image, the initramfs twice (the archive and its
// unpacked files coexist until it is freed), and what the kernel
// allocates before /init runs. docs/DESIGN.md has the measurements behind
// the allowance.
unsigned memory_floor_mb(const Kernel& kernel, const std::filesystem::path& initrd);

// Throws BootError, naming the floor, when `memory_mb` is below it: such a
// guest hangs or dies silently, and would otherwise fail only after every
// boot attempt's deadline.
void check_memory(const Kernel& kernel, const std::filesystem::path& initrd, unsigned memory_mb);

}  // namespace kmsdk::detail
