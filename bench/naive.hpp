// SPDX-License-Identifier: GPL-2.0
//
// The naive QEMU recipe kmsdk is measured against (docs/DESIGN.md, "The
// guest recipe", first row of its table): the default `pc` machine with
// SeaBIOS, the distribution's compressed bzImage, a gzip initramfs holding
// static busybox and an /init shell script that does the work and then
// `poweroff -f`. No network, no agent: one boot per piece of work.
#pragma once

#include "kmsdk/kernel.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kmsdk::bench {

struct NaiveRun {
    bool ok = false;
    double ready_ms = 0;  // QEMU start to /init's first line on the console
    double total_ms = 0;  // QEMU start to QEMU's exit
    // The kernel's own timestamp on its "reboot: Power down" line (printed
    // even with `quiet`): total_ms minus this went before the kernel's
    // clock started (QEMU, SeaBIOS, decompressing the bzImage).
    std::optional<double> kernel_ms;
    std::string failure;  // why not ok: a hang, a wrong exit, the work failing
};

class NaiveRecipe {
public:
    // Builds the recipe's initramfs files in `workdir`: one whose /init
    // runs `true`, one whose /init loads and unloads `hello_ko`.
    NaiveRecipe(const Kernel& kernel, std::filesystem::path workdir,
                const std::filesystem::path& hello_ko, std::string accel);

    // Boot, `true`, poweroff.
    NaiveRun boot_true();
    // Boot, insmod kms_hello.ko, rmmod kms_hello, poweroff.
    NaiveRun boot_insmod_rmmod();

    // The QEMU command line of boot_true(), for the report.
    std::vector<std::string> command_true() const;

private:
    std::vector<std::string> command(const std::filesystem::path& initrd) const;
    NaiveRun boot(const std::filesystem::path& initrd);

    std::filesystem::path bzimage_;
    std::filesystem::path workdir_;
    std::filesystem::path initrd_true_;
    std::filesystem::path initrd_insmod_;
    std::string accel_;
};

}  // namespace kmsdk::bench
