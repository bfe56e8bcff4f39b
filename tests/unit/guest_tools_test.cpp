// SPDX-License-Identifier: GPL-2.0
// The Debian tools a guest carries in place of busybox's applets: how ldd's
// report becomes the files to copy, and what the host really has.
#include "guest_tools.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace kmsdk::detail;
namespace fs = std::filesystem;

TEST_CASE("parse_ldd lists each shared object with a path, the loader included", "[guest_tools]")
{
    const std::string kmod = "\tlinux-vdso.so.1 (0x00007f23f48bb000)\n"
                             "\tlibzstd.so.1 => /lib/x86_64-linux-gnu/libzstd.so.1 (0x00007f23f47c0000)\n"
                             "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f23f401e000)\n"
                             "\t/lib64/ld-linux-x86-64.so.2 (0x00007f23f48bd000)\n";
    CHECK(parse_ldd(kmod, "/usr/bin/kmod") ==
          std::vector<fs::path>{"/lib/x86_64-linux-gnu/libzstd.so.1",
                                "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"});
}

TEST_CASE("parse_ldd refuses a library the host's loader cannot find, naming it", "[guest_tools]")
{
    const std::string broken = "\tlibgone.so.7 => not found\n"
                               "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f23f401e000)\n";
    CHECK_THROWS_WITH(parse_ldd(broken, "/usr/bin/tool"),
                      Catch::Matchers::Contains("/usr/bin/tool needs libgone.so.7") &&
                          Catch::Matchers::Contains("dpkg -S /usr/bin/tool"));
}

TEST_CASE("the host's kmod, util-linux and iproute2 tools are found with their libraries",
          "[guest_tools]")
{
    auto tools = find_guest_tools(default_guest_tools());
    REQUIRE(tools.applets.size() == default_guest_tools().size());
    auto program_of = [&](std::string_view applet) {
        auto found = std::find_if(tools.applets.begin(), tools.applets.end(),
                                  [&](const auto& entry) { return entry.first == applet; });
        REQUIRE(found != tools.applets.end());
        return found->second;
    };
    // kmod is one program behind six names.
    CHECK(fs::path{program_of("insmod")}.filename() == "kmod");
    CHECK(program_of("modprobe") == program_of("insmod"));
    CHECK(fs::path{program_of("dmesg")}.filename() == "dmesg");
    CHECK(fs::path{program_of("ip")}.filename() == "ip");
    CHECK(fs::path{program_of("sh")}.filename() == "dash");
    // Each file once, the loader among them, every source a real file.
    std::vector<fs::path> paths;
    for (const auto& file : tools.files) {
        CHECK(fs::is_regular_file(file.source));
        CHECK(file.size > 0);
        paths.push_back(file.guest_path);
    }
    std::sort(paths.begin(), paths.end());
    CHECK(std::adjacent_find(paths.begin(), paths.end()) == paths.end());
    CHECK(std::count(paths.begin(), paths.end(), fs::path{"/lib64/ld-linux-x86-64.so.2"}) == 1);
}

TEST_CASE("a tool the host lacks names its package", "[guest_tools]")
{
    CHECK_THROWS_WITH(find_guest_tools({{"kmsdk-no-such-tool", "kmsdk-pkg"}}),
                      Catch::Matchers::Contains("apt-get install kmsdk-pkg"));
}
