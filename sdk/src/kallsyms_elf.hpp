// SPDX-License-Identifier: GPL-2.0
// The kernel's symbols, as a guest's /proc/kallsyms lists them, in an ELF
// file gdb can load: names and addresses, no code and no debug information.
// Enough for `break <kernel function>` and for names in a backtrace when no
// vmlinux with debug information is at hand.
#pragma once

#include <filesystem>
#include <string_view>

namespace kmsdk::detail {

struct KallsymsCount {
    std::size_t functions = 0;
    std::size_t objects = 0;
};

// Writes the kernel's own symbols of `kallsyms` (those of modules, and
// per-CPU offsets, left out) to `elf`. Throws std::runtime_error when the
// listing holds none: a /proc/kallsyms read by a user who sees only zeros.
KallsymsCount write_kallsyms_elf(std::string_view kallsyms, const std::filesystem::path& elf);

}  // namespace kmsdk::detail
