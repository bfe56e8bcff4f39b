// SPDX-License-Identifier: GPL-2.0
//
// Which of a kernel's own modules a guest needs, resolved on the host with
// libkmod against the cached tree. The guest gets this closure, never the
// whole tree (400 MB on 6.1).
//
// The closure follows `depends:` (modules.dep) and soft dependencies
// (modules.softdep, from the modules' `softdep=`): libcrc32c has
// `softdep: pre: crc32c`, and its init fails unless a crc32c crypto driver
// is there, which the kernel asks /sbin/modprobe for as `crypto-crc32c`.
#pragma once

#include "kmsdk/kernel.hpp"

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

struct kmod_ctx;

namespace kmsdk {

// One module file of the kernel's tree.
struct KernelModuleFile {
    std::string name;             // "libcrc32c"
    std::filesystem::path source; // in the cache: .ko, .ko.xz or .ko.zst
    // Where it goes under /lib/modules/<release>/ in the guest, without the
    // compression suffix: "kernel/lib/libcrc32c.ko".
    std::string relative_path;
};

class ModuleClosure {
public:
    explicit ModuleClosure(const Kernel& kernel);
    ModuleClosure(ModuleClosure&&) noexcept;
    ModuleClosure& operator=(ModuleClosure&&) noexcept;
    ~ModuleClosure();

    // The modules named (names or aliases: "crc32c", "crypto-crc32c") with
    // everything they need, in load order: each after its dependencies, no
    // duplicates. Built-in modules are left out, since they need no file.
    // Throws naming a name that is neither a module nor an alias.
    std::vector<KernelModuleFile> resolve(const std::vector<std::string>& names) const;

    // What out-of-tree modules need from the kernel's tree: the closure of
    // their `depends:` and `softdep:`. Names the modules provide among
    // themselves (kms_consumer depends on kms_core), or that are in
    // `provided`, are not looked up.
    std::vector<KernelModuleFile> for_modules(const std::vector<std::filesystem::path>& kos,
                                              const std::set<std::string>& provided = {}) const;
    std::vector<KernelModuleFile> for_module(const std::filesystem::path& ko,
                                             const std::set<std::string>& provided = {}) const;

    const std::string& release() const { return release_; }

private:
    struct ContextFree {
        void operator()(kmod_ctx* ctx) const;
    };

    std::string release_;
    std::filesystem::path modules_dir_;
    std::unique_ptr<kmod_ctx, ContextFree> ctx_;
};

// The module's ELF bytes: .ko.xz and .ko.zst decompressed, a plain .ko as
// it is. Throws naming the file.
std::string decompressed(const KernelModuleFile& module);

}  // namespace kmsdk
