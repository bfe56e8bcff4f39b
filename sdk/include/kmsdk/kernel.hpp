// SPDX-License-Identifier: GPL-2.0
//
// A kernel in the kmsdk cache, as scripts/kernels.sh fetched it:
// $KMSDK_CACHE/kernels/<release>/ with build, modules, vmlinux, config and
// kernel.info (written last, so only folders that have it count).
#pragma once

#include "kmsdk/cache.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace kmsdk {

class Kernel {
public:
    // The cache folder of one kernel. Throws when it has no kernel.info
    // (an unfinished or foreign folder).
    explicit Kernel(std::filesystem::path dir);

    // An exact release ("6.1.0-56-amd64"), a series ("6.1", "6.12") or a
    // series and flavour ("6.12-rt", "6.12-cloud"): the newest cached
    // release of it. A series alone means Debian's generic flavour. "" is
    // the newest cached kernel of the generic flavour, else the newest.
    // Throws naming what is cached and the command that fetches the rest.
    static Kernel find(std::string_view release_or_series,
                       const std::filesystem::path& cache = cache_dir());
    // Every cached kernel, newest first.
    static std::vector<Kernel> list(const std::filesystem::path& cache = cache_dir());

    const std::string& release() const { return release_; }
    // "6.1" for 6.1.0-56-amd64.
    std::string series() const;
    // What `kmsdk kernels` calls it: "6.12", or "6.12-rt" for the
    // PREEMPT_RT flavour (kernel_spec()).
    std::string spec() const;
    const std::filesystem::path& dir() const { return dir_; }

    // The ELF kernel QEMU boots through its PVH note.
    std::filesystem::path vmlinux() const;
    // The vmlinux of the kernel's -dbg package, with debug information,
    // when `kmsdk kernels fetch --debug-symbols` cached it; empty if not.
    std::filesystem::path debug_vmlinux() const;
    // The lib/modules/<release> tree, indexed by depmod at fetch time.
    std::filesystem::path modules_dir() const;
    // The Kbuild folder (KDIR).
    std::filesystem::path build_dir() const;
    // The kernel's .config.
    std::filesystem::path config() const;

    // The value an option has in config: "y", "m", a string or number as
    // written there, or "" when it is not set. "CONFIG_" may be left off.
    std::string config_value(std::string_view option) const;
    // Set to y or m.
    bool config_enabled(std::string_view option) const;

private:
    // The path of a part of the cache entry, or an error saying it is broken.
    std::filesystem::path part(std::string_view name) const;

    std::filesystem::path dir_;
    std::string release_;
};

// Orders versions as `sort -V` does (Debian's version comparison of each
// run of digits and non-digits): negative, zero or positive.
int compare_versions(std::string_view a, std::string_view b);

// The series of a release: its first two dot-separated numbers.
std::string series_of(std::string_view release);

// The flavour of a Debian release: "amd64" (generic), "rt-amd64" or
// "cloud-amd64"; "" for a name that is not a Debian amd64 kernel's.
std::string flavour_of(std::string_view release);

// A release as users name it: its series, with "-rt" or "-cloud" for those
// flavours ("6.12-rt"). A name that is not a Debian kernel's stays whole.
std::string kernel_spec(std::string_view release);

}  // namespace kmsdk
