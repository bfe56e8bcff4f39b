// SPDX-License-Identifier: GPL-2.0
// Finding kernels in the cache: a series must pick its newest release the
// way `sort -V` orders them, and never a release of another series that
// starts with the same digits (6.1 is not 6.12).
#include "scoped_env.hpp"
#include "kmsdk/cache.hpp"
#include "kmsdk/kernel.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include "temp_dir.hpp"

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using kmsdk::Kernel;
using kmsdk::detail::TempDir;

using kmsdk::detail::ScopedEnv;

namespace {

// A cache with kernel folders as kernels.sh leaves them, minus the bulk.
void add_fake_kernel(const fs::path& cache, const std::string& release, bool complete = true)
{
    auto dir = cache / "kernels" / release;
    fs::create_directories(dir);
    std::ofstream{dir / "vmlinux"} << "ELF";
    std::ofstream{dir / "config"} << "CONFIG_MODULE_FORCE_UNLOAD=y\nCONFIG_VIRTIO=m\n"
                                  << "# CONFIG_KASAN is not set\nCONFIG_LOCALVERSION=\"-amd64\"\n";
    if (complete)
        std::ofstream{dir / "kernel.info"} << "release=" << release << "\n";
}

std::vector<std::string> releases_of(const std::vector<Kernel>& kernels)
{
    std::vector<std::string> releases;
    releases.reserve(kernels.size());
    for (const auto& kernel : kernels)
        releases.push_back(kernel.release());
    return releases;
}

}  // namespace

TEST_CASE("versions compare like sort -V", "[kernel]")
{
    using kmsdk::compare_versions;
    CHECK(compare_versions("6.1.0-10-amd64", "6.1.0-9-amd64") > 0);
    CHECK(compare_versions("6.12.117+deb12-amd64", "6.1.0-56-amd64") > 0);
    CHECK(compare_versions("6.12.9+deb12-amd64", "6.12.117+deb12-amd64") < 0);
    CHECK(compare_versions("6.1.0-56-amd64", "6.1.0-56-amd64") == 0);
    CHECK(compare_versions("1.0~rc1", "1.0") < 0);
}

TEST_CASE("the series of a release is its first two numbers", "[kernel]")
{
    CHECK(kmsdk::series_of("6.1.0-56-amd64") == "6.1");
    CHECK(kmsdk::series_of("6.12.117+deb12-amd64") == "6.12");
}

TEST_CASE("the cache folder is KMSDK_CACHE or XDG_CACHE_HOME/kmsdk or HOME/.cache/kmsdk", "[kernel]")
{
    ScopedEnv home{"HOME", "/home/someone"};
    {
        ScopedEnv cache{"KMSDK_CACHE", "/srv/kmsdk"};
        ScopedEnv xdg{"XDG_CACHE_HOME", "/xdg"};
        CHECK(kmsdk::cache_dir() == "/srv/kmsdk");
    }
    {
        ScopedEnv cache{"KMSDK_CACHE", nullptr};
        ScopedEnv xdg{"XDG_CACHE_HOME", "/xdg"};
        CHECK(kmsdk::cache_dir() == "/xdg/kmsdk");
    }
    {
        ScopedEnv cache{"KMSDK_CACHE", ""};
        ScopedEnv xdg{"XDG_CACHE_HOME", nullptr};
        CHECK(kmsdk::cache_dir() == "/home/someone/.cache/kmsdk");
    }
}

TEST_CASE("a release's spec is its series and flavour, as users type it", "[kernel]")
{
    CHECK(kmsdk::kernel_spec("6.1.0-57-amd64") == "6.1");
    CHECK(kmsdk::kernel_spec("6.12.117+deb12-amd64") == "6.12");
    CHECK(kmsdk::kernel_spec("6.12.117+deb12-rt-amd64") == "6.12-rt");
    CHECK(kmsdk::kernel_spec("6.1.0-57-cloud-amd64") == "6.1-cloud");
    CHECK(kmsdk::kernel_spec("7.3.4+deb13-amd64") == "7.3");
    // Not a Debian kernel's name: it stays whole.
    CHECK(kmsdk::kernel_spec("6.8.0-45-generic") == "6.8.0-45-generic");
    CHECK(kmsdk::flavour_of("7.3.4+deb13-rt-amd64") == "rt-amd64");
    CHECK(kmsdk::flavour_of("6.1.0-57-amd64") == "amd64");
    CHECK(kmsdk::flavour_of("amd64").empty());
}

TEST_CASE("a series means the generic flavour; a flavour must be named", "[kernel]")
{
    TempDir cache{"kmsdk-kernel-test"};
    // sort -V puts the rt and cloud twins after the generic one.
    for (auto release : {"6.12.117+deb12-amd64", "6.12.117+deb12-rt-amd64",
                         "6.12.117+deb12-cloud-amd64", "6.1.0-57-rt-amd64"})
        add_fake_kernel(cache.path(), release);
    CHECK(Kernel::find("6.12", cache.path()).release() == "6.12.117+deb12-amd64");
    CHECK(Kernel::find("6.12.117+deb12", cache.path()).release() == "6.12.117+deb12-amd64");
    CHECK(Kernel::find("6.12-rt", cache.path()).release() == "6.12.117+deb12-rt-amd64");
    CHECK(Kernel::find("6.12-cloud", cache.path()).release() == "6.12.117+deb12-cloud-amd64");
    CHECK(Kernel::find("6.12-rt", cache.path()).spec() == "6.12-rt");
    CHECK(Kernel::find("", cache.path()).release() == "6.12.117+deb12-amd64");
    // Only an rt kernel of 6.1: the series alone does not pick it.
    CHECK_THROWS_WITH(Kernel::find("6.1", cache.path()),
                      Catch::Contains("6.1.0-57-rt-amd64") &&
                          Catch::Contains("kmsdk kernels fetch 6.1"));
    CHECK(Kernel::find("6.1-rt", cache.path()).release() == "6.1.0-57-rt-amd64");
}

TEST_CASE("with no kernel of the generic flavour, the default is the newest of any",
          "[kernel]")
{
    TempDir cache{"kmsdk-kernel-test"};
    add_fake_kernel(cache.path(), "6.12.117+deb12-rt-amd64");
    CHECK(Kernel::find("", cache.path()).release() == "6.12.117+deb12-rt-amd64");
}

TEST_CASE("kernels are found by release or series in a cache", "[kernel]")
{
    TempDir cache{"kmsdk-kernel-test"};
    for (auto release : {"6.1.0-9-amd64", "6.1.0-10-amd64", "6.12.9+deb12-amd64",
                         "6.12.117+deb12-amd64"})
        add_fake_kernel(cache.path(), release);
    // A fetch that never finished: no kernel.info, so it does not count.
    add_fake_kernel(cache.path(), "6.13.0-1-amd64", false);

    SECTION("list is newest first and skips unfinished folders")
    {
        CHECK(releases_of(Kernel::list(cache.path())) ==
              std::vector<std::string>{"6.12.117+deb12-amd64", "6.12.9+deb12-amd64",
                                       "6.1.0-10-amd64", "6.1.0-9-amd64"});
    }
    SECTION("a series gives its newest release, and 6.1 is not 6.12")
    {
        CHECK(Kernel::find("6.1", cache.path()).release() == "6.1.0-10-amd64");
        CHECK(Kernel::find("6.12", cache.path()).release() == "6.12.117+deb12-amd64");
        CHECK(Kernel::find("6.1", cache.path()).series() == "6.1");
    }
    SECTION("an exact release gives itself, an empty one the newest")
    {
        CHECK(Kernel::find("6.1.0-9-amd64", cache.path()).release() == "6.1.0-9-amd64");
        CHECK(Kernel::find("", cache.path()).release() == "6.12.117+deb12-amd64");
        CHECK(Kernel::find("6.1.0-9-amd64", cache.path()).dir() ==
              cache.path() / "kernels" / "6.1.0-9-amd64");
    }
    SECTION("a missing kernel names what is cached and how to fetch it")
    {
        CHECK_THROWS_WITH(Kernel::find("5.10", cache.path()),
                          Catch::Contains("5.10") && Catch::Contains("6.1.0-10-amd64") &&
                              Catch::Contains("kmsdk kernels fetch 5.10") &&
                              Catch::Contains("scripts/kernels.sh fetch 5.10"));
        CHECK_THROWS_WITH(Kernel::find("6.13", cache.path()),
                          Catch::Contains("kmsdk kernels fetch 6.13"));
    }
    SECTION("a broken entry says to fetch it again")
    {
        auto kernel = Kernel::find("6.1.0-9-amd64", cache.path());
        CHECK(kernel.vmlinux() == kernel.dir() / "vmlinux");
        fs::remove(kernel.dir() / "vmlinux");
        CHECK_THROWS_WITH(kernel.vmlinux(),
                          Catch::Contains("vmlinux") && Catch::Contains("fetch it again") &&
                              Catch::Contains(kernel.dir().string()));
        CHECK_THROWS_WITH(kernel.modules_dir(), Catch::Contains("fetch it again"));
    }
    SECTION("config options")
    {
        auto kernel = Kernel::find("6.12", cache.path());
        CHECK(kernel.config_enabled("CONFIG_MODULE_FORCE_UNLOAD"));
        CHECK(kernel.config_enabled("VIRTIO"));
        CHECK_FALSE(kernel.config_enabled("CONFIG_KASAN"));
        CHECK_FALSE(kernel.config_enabled("CONFIG_VIRTIO_PCI"));
        CHECK(kernel.config_value("LOCALVERSION") == "-amd64");
    }
}

TEST_CASE("an empty cache says how to fetch a kernel", "[kernel]")
{
    TempDir cache{"kmsdk-kernel-test"};
    CHECK(Kernel::list(cache.path()).empty());
    CHECK_THROWS_WITH(Kernel::find("", cache.path()),
                      Catch::Contains("no kernels are cached") &&
                          Catch::Contains("kmsdk kernels fetch 6.1"));
}

TEST_CASE("every cached kernel is complete and allows forced unload", "[kernel]")
{
    auto kernels = Kernel::list();
    REQUIRE_FALSE(kernels.empty());
    for (const auto& kernel : kernels) {
        INFO(kernel.release());
        CHECK(fs::is_regular_file(kernel.vmlinux()));
        CHECK(fs::is_regular_file(kernel.modules_dir() / "modules.dep"));
        CHECK(fs::is_regular_file(kernel.build_dir() / "Makefile"));
        // Both Debian series allow rmmod -f; the guest tests rely on it.
        CHECK(kernel.config_enabled("CONFIG_MODULE_FORCE_UNLOAD"));
        CHECK(Kernel::find(kernel.series()).series() == kernel.series());
    }
}
