// SPDX-License-Identifier: GPL-2.0
// The kernel's own modules a guest needs, resolved with libkmod against
// each cached kernel. A closure that misses a module is a guest where
// insmod fails with "Unknown symbol", or where libcrc32c's init fails for
// want of a crc32c driver; one that is out of order fails the same way.
#include "kmsdk/kernel.hpp"
#include "kmsdk/module_closure.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using kmsdk::Kernel;
using kmsdk::KernelModuleFile;
using kmsdk::ModuleClosure;

namespace {

std::vector<std::string> names_of(const std::vector<KernelModuleFile>& modules)
{
    std::vector<std::string> names;
    names.reserve(modules.size());
    for (const auto& module : modules)
        names.push_back(module.name);
    return names;
}

std::ptrdiff_t position(const std::vector<std::string>& names, const std::string& name)
{
    auto found = std::find(names.begin(), names.end(), name);
    return found == names.end() ? -1 : found - names.begin();
}

bool contains(const std::vector<std::string>& names, const std::string& name)
{
    return position(names, name) >= 0;
}

// modules.dep's line for a module: its dependencies' paths, or nullopt
// when the kernel has no such module file (built in).
std::optional<std::vector<std::string>> modules_dep_entry(const Kernel& kernel,
                                                          const std::string& name)
{
    std::ifstream dep{kernel.modules_dir() / "modules.dep"};
    for (std::string line; std::getline(dep, line);) {
        auto colon = line.find(':');
        auto file = fs::path{line.substr(0, colon)}.filename().string();
        auto module = file.substr(0, file.find('.'));
        std::replace(module.begin(), module.end(), '-', '_');  // crc32c-intel.ko
        if (module != name)
            continue;
        std::vector<std::string> depends;
        std::istringstream rest{line.substr(colon + 1)};
        for (std::string path; rest >> path;)
            depends.push_back(path);
        return depends;
    }
    return std::nullopt;
}

// Each module comes after everything modules.dep says it depends on.
void check_load_order(const Kernel& kernel, const std::vector<KernelModuleFile>& closure)
{
    auto names = names_of(closure);
    std::vector<std::string> paths;
    paths.reserve(closure.size());
    for (const auto& module : closure)
        paths.push_back(module.relative_path);
    for (const auto& module : closure) {
        INFO(module.name);
        auto depends = modules_dep_entry(kernel, module.name);
        REQUIRE(depends);
        for (auto path : *depends) {
            for (std::string_view suffix : {".xz", ".zst"})
                if (path.ends_with(suffix))
                    path.resize(path.size() - suffix.size());
            INFO("depends on " << path);
            auto at = std::find(paths.begin(), paths.end(), path);
            REQUIRE(at != paths.end());
            CHECK(at - paths.begin() < position(names, module.name));
        }
    }
    auto unique = names;
    std::sort(unique.begin(), unique.end());
    CHECK(std::adjacent_find(unique.begin(), unique.end()) == unique.end());
}

std::vector<std::string> releases_built()
{
    std::vector<std::string> list;
    std::istringstream stream{KMSDK_TEST_RELEASES};
    for (std::string release; std::getline(stream, release, ',');)
        list.push_back(release);
    return list;
}

// The kernels this build is for (KMSDK_KERNELS), not every cached one.
std::vector<Kernel> kernels_built()
{
    std::vector<Kernel> kernels;
    for (const auto& release : releases_built())
        kernels.push_back(Kernel::find(release));
    return kernels;
}

// libcrc32c is a module up to 6.13; from 6.14 lib/crc32 in the kernel
// image has crc32c().
bool has_libcrc32c(const Kernel& kernel)
{
    return kernel.config_value("LIBCRC32C") == "m";
}

// The crypto API's crc32c driver as the kernel's tree names it:
// crc32c_generic on Debian's 6.x kernels, crc32c_cryptoapi (over lib/crc32)
// on its 7.x kernels.
std::string crc32c_driver(const Kernel& kernel)
{
    return modules_dep_entry(kernel, "crc32c_generic") ? "crc32c_generic" : "crc32c_cryptoapi";
}

// A module of the kernel's own with dependencies of its own, on every kernel.
std::string module_with_dependencies(const Kernel& kernel)
{
    return has_libcrc32c(kernel) ? "libcrc32c" : "nf_conntrack";
}

}  // namespace

TEST_CASE("libcrc32c brings a crc32c driver through its soft dependency", "[closure]")
{
    for (const auto& kernel : kernels_built()) {
        INFO(kernel.release());
        if (!has_libcrc32c(kernel)) {
            CHECK_FALSE(modules_dep_entry(kernel, "libcrc32c"));
            continue;
        }
        auto closure = ModuleClosure{kernel}.resolve({"libcrc32c"});
        auto names = names_of(closure);
        REQUIRE(contains(names, "crc32c_generic"));
        REQUIRE(contains(names, "libcrc32c"));
        CHECK(position(names, "crc32c_generic") < position(names, "libcrc32c"));
        check_load_order(kernel, closure);
        for (const auto& module : closure) {
            CHECK(fs::is_regular_file(module.source));
            CHECK(module.relative_path.starts_with("kernel/"));
            CHECK(module.relative_path.ends_with(".ko"));
        }
    }
}

TEST_CASE("aliases resolve as modprobe resolves them", "[closure]")
{
    for (const auto& kernel : kernels_built()) {
        INFO(kernel.release());
        ModuleClosure closure{kernel};
        CHECK(contains(names_of(closure.resolve({"crypto-crc32c"})), crc32c_driver(kernel)));
        CHECK(contains(names_of(closure.resolve({"crc32c"})), crc32c_driver(kernel)));
    }
}

TEST_CASE("nf_conntrack_netlink comes after nfnetlink and nf_conntrack", "[closure]")
{
    for (const auto& kernel : kernels_built()) {
        INFO(kernel.release());
        auto closure = ModuleClosure{kernel}.resolve({"nf_conntrack_netlink"});
        auto names = names_of(closure);
        // Debian's 7.x kernels build nfnetlink in.
        CHECK(contains(names, "nfnetlink") ==
              (kernel.config_value("NETFILTER_NETLINK") == "m"));
        CHECK(contains(names, "nf_conntrack"));
        // Up to 6.13 nf_conntrack needs libcrc32c, which needs a crc32c
        // driver.
        CHECK(contains(names, "libcrc32c") == has_libcrc32c(kernel));
        CHECK(contains(names, "crc32c_generic") == has_libcrc32c(kernel));
        CHECK(names.back() == "nf_conntrack_netlink");
        check_load_order(kernel, closure);
    }
}

TEST_CASE("the channel modules of the agent where they are modules", "[closure]")
{
    for (const auto& kernel : kernels_built()) {
        INFO(kernel.release());
        auto closure = ModuleClosure{kernel}.resolve({"virtio_pci", "virtio_console"});
        auto names = names_of(closure);
        check_load_order(kernel, closure);
        // Built-in ones (all of them on 6.12) are left out, modules kept.
        for (std::string name : {"virtio_pci", "virtio_console", "virtio", "virtio_ring",
                                 "virtio_pci_modern_dev", "virtio_pci_legacy_dev"}) {
            INFO(name);
            CHECK(contains(names, name) == modules_dep_entry(kernel, name).has_value());
        }
        if (kernel.config_value("CONFIG_VIRTIO_PCI") == "m")
            CHECK(position(names, "virtio_pci_modern_dev") < position(names, "virtio_pci"));
    }
}

TEST_CASE("module bytes come out decompressed", "[closure]")
{
    for (const auto& kernel : kernels_built()) {
        INFO(kernel.release());
        auto closure = ModuleClosure{kernel}.resolve({module_with_dependencies(kernel)});
        CHECK(closure.size() > 1);
        for (const auto& module : closure) {
            INFO(module.source);
            auto bytes = kmsdk::decompressed(module);
            CHECK(bytes.starts_with("\x7f" "ELF"));
            CHECK(bytes.size() > 1000);
        }
    }
}

TEST_CASE("an unknown module is an error naming it and the kernel", "[closure]")
{
    for (const auto& kernel : kernels_built()) {
        ModuleClosure closure{kernel};
        CHECK_THROWS_WITH(closure.resolve({module_with_dependencies(kernel), "no_such_module"}),
                          Catch::Contains("no_such_module") &&
                              Catch::Contains(kernel.release()));
    }
}

TEST_CASE("the depends of an out-of-tree module resolve in the kernel tree", "[closure]")
{
    for (const auto& release : releases_built()) {
        INFO(release);
        auto kernel = Kernel::find(release);
        ModuleClosure closure{kernel};
        fs::path modules_dir{KMSDK_TEST_MODULES_DIR};

        auto checksum = names_of(closure.for_module(modules_dir / release / "kms_checksum.ko"));
        if (has_libcrc32c(kernel)) {
            CHECK(contains(checksum, "libcrc32c"));
            CHECK(contains(checksum, "crc32c_generic"));
            CHECK(position(checksum, "crc32c_generic") < position(checksum, "libcrc32c"));
        } else {
            CHECK(checksum.empty());  // crc32c() is the kernel image's
        }

        // kms_core is not in the kernel's tree: it comes with the consumer.
        auto consumer = modules_dir / release / "kms_consumer.ko";
        CHECK_THROWS_WITH(closure.for_module(consumer), Catch::Contains("kms_core"));
        CHECK(closure.for_module(consumer, {"kms_core"}).empty());
        CHECK(closure.for_modules({consumer, modules_dir / release / "kms_core.ko"}).empty());
    }
}
