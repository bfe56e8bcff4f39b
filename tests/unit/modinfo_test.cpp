// SPDX-License-Identifier: GPL-2.0
// What the kernel will see in each built sample module, read with libkmod:
// these are the fields insmod and modprobe act on, so a wrong one is a
// module that will not load, or loads with the wrong dependencies.
#include "kmsdk/kernel.hpp"
#include "kmsdk/modinfo.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using kmsdk::ModuleInfo;

namespace {

const std::vector<std::string> sample_modules = {
    "kms_hello", "kms_params",   "kms_core",      "kms_consumer",
    "kms_proprietary", "kms_checksum", "kms_multifile", "kms_printk",
    "kms_edu",   "kms_fs",       "kms_net",       "kms_kprobe",
    "kms_binfmt", "kms-hello-1", "kms_chardev", "kms_sysfs",    "kms_procfs",
    "kms_debugfs", "kms_deferred", "kms_locking", "kms_unwind",
};

std::vector<std::string> releases()
{
    std::vector<std::string> list;
    std::istringstream stream{KMSDK_TEST_RELEASES};
    for (std::string release; std::getline(stream, release, ',');)
        list.push_back(release);
    return list;
}

ModuleInfo built(const std::string& release, const std::string& module)
{
    return ModuleInfo::read(fs::path{KMSDK_TEST_MODULES_DIR} / release / (module + ".ko"));
}


}  // namespace

TEST_CASE("modules are built for every kernel asked for", "[modinfo]")
{
    REQUIRE_FALSE(releases().empty());
    for (const auto& release : releases())
        for (const auto& module : sample_modules)
            DYNAMIC_SECTION(module << " for " << release)
            {
                auto info = built(release, module);
                // Kbuild names a module after its file, '-' made '_'.
                auto name = module;
                std::replace(name.begin(), name.end(), '-', '_');
                CHECK(info.name() == name);
                // vermagic must name the exact release, or the kernel
                // refuses the module ("disagrees about version of symbol").
                CHECK(info.release() == release);
                // "modversions" only where the kernel records symbol
                // versions (Debian's 6.x kernels; its 7.x kernels do not).
                CHECK_THAT(info.vermagic(), Catch::Contains("mod_unload"));
                CHECK((info.vermagic().find(" modversions") != std::string::npos) ==
                      kmsdk::Kernel::find(release).config_enabled("MODVERSIONS"));
                CHECK_FALSE(info.description().empty());
                CHECK_FALSE(info.field("author").empty());
            }
}

TEST_CASE("licenses are what the kernel's GPL checks expect", "[modinfo]")
{
    for (const auto& release : releases())
        for (const auto& module : sample_modules)
            DYNAMIC_SECTION(module << " for " << release)
            {
                auto expected = module == "kms_proprietary" ? "Proprietary" : "GPL";
                CHECK(built(release, module).license() == expected);
            }
}

TEST_CASE("modinfo -p shows every parameter with its type and description", "[modinfo]")
{
    std::vector<std::string> expected = {
        "big (long)",   "debug (int)", "level (int)",  "mask (ulong)",
        "number (int)", "small (short)", "values (array of int)",
        "verbose (bool)", "word (charp)",
    };
    for (const auto& release : releases())
        DYNAMIC_SECTION("kms_params for " << release)
        {
            std::vector<std::string> declared;
            for (const auto& param : built(release, "kms_params").parameters()) {
                declared.push_back(param.name + " (" + param.type + ")");
                INFO("parameter " << param.name);
                CHECK_FALSE(param.description.empty());
            }
            std::sort(declared.begin(), declared.end());
            CHECK(declared == expected);

            auto hello = built(release, "kms_hello").parameters();
            REQUIRE(hello.size() == 1);
            CHECK(hello[0].name == "whom");
            CHECK(hello[0].type == "charp");
        }
}

TEST_CASE("a PCI driver's device table becomes the alias depmod indexes", "[modinfo]")
{
    for (const auto& release : releases())
        DYNAMIC_SECTION(release)
        {
            auto edu = built(release, "kms_edu");
            // What the guest's coldplug matches /sys/.../modalias against.
            CHECK(edu.fields("alias") ==
                  std::vector<std::string>{"pci:v00001234d000011E8sv*sd*bc*sc*i*"});
            auto params = edu.parameters();
            REQUIRE(params.size() == 1);
            CHECK(params[0].name == "use_msi");
            CHECK(params[0].type == "bool");
        }
}

TEST_CASE("module_param_named exposes the external name only", "[modinfo]")
{
    for (const auto& release : releases()) {
        auto params = built(release, "kms_params").parameters();
        auto named = [&](const std::string& name) {
            return std::any_of(params.begin(), params.end(),
                               [&](const auto& p) { return p.name == name; });
        };
        CHECK(named("debug"));
        CHECK_FALSE(named("kms_params_debug"));
    }
}

TEST_CASE("depends names what modprobe must load first", "[modinfo]")
{
    using strings = std::vector<std::string>;
    for (const auto& release : releases())
        DYNAMIC_SECTION(release)
        {
            CHECK(built(release, "kms_consumer").depends() == strings{"kms_core"});
            // Built without kms_core's symbols, so that the kernel, not
            // modpost, refuses it: nothing tells modprobe to load kms_core.
            CHECK(built(release, "kms_proprietary").depends().empty());
            // crc32c() is libcrc32c's up to 6.13, the kernel image's from
            // 6.14 (kms_checksum_compat.h).
            if (kmsdk::Kernel::find(release).config_value("LIBCRC32C") == "m")
                CHECK(built(release, "kms_checksum").depends() == strings{"libcrc32c"});
            else
                CHECK(built(release, "kms_checksum").depends().empty());
            // The namespace kms_core_sub() is exported into.
            CHECK(built(release, "kms_consumer").field("import_ns") == "KMS_CORE");
            CHECK(built(release, "kms_hello").depends().empty());
            CHECK(built(release, "kms_core").depends().empty());
        }
}

TEST_CASE("a file that is not a module is refused with its name", "[modinfo]")
{
    kmsdk::detail::TempDir dir{"kmsdk-modinfo-test"};
    auto garbage = dir.path() / "broken.ko";
    std::ofstream{garbage} << "this is not an ELF file\n";
    CHECK_THROWS_WITH(ModuleInfo::read(garbage),
                      Catch::Contains(garbage.string()) &&
                          Catch::Contains("not a valid kernel module"));
}

TEST_CASE("a missing module file is refused with its name", "[modinfo]")
{
    CHECK_THROWS_WITH(ModuleInfo::read("/nonexistent/kms_nothing.ko"),
                      Catch::Contains("/nonexistent/kms_nothing.ko"));
}
