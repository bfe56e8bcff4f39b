// SPDX-License-Identifier: GPL-2.0
// The guest's tools are the ones they claim to be: Debian's kmod behind
// insmod, rmmod, lsmod, modinfo, modprobe and depmod, util-linux's dmesg,
// mount and umount, iproute2's ip and dash as sh, each the very version
// this host has, and not busybox's applets of those names. The kernel's own
// requests for modules (/proc/sys/kernel/modprobe) reach kmod too.
#include "guest_suite.hpp"

#include "host_command.hpp"

#include <fmt/format.h>

#include <array>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::StartsWith;

namespace {

Guest& guest()
{
    return suite_guest([] { return GuestOptions{}; });
}

// The first line a host command prints.
std::string first_line_on_host(const std::vector<std::string>& argv)
{
    auto output = detail::output_of(argv);
    return output.substr(0, output.find('\n'));
}

std::string first_line(const std::string& text)
{
    return text.substr(0, text.find('\n'));
}

}  // namespace

TEST_CASE("kmod's six tools are one program, the host's own kmod", "[tools]")
{
    auto& g = guest();
    const auto host_version = first_line_on_host({"kmod", "--version"});
    REQUIRE_THAT(host_version, StartsWith("kmod version "));
    for (const auto* tool : {"insmod", "rmmod", "lsmod", "modinfo", "modprobe", "depmod"}) {
        INFO(tool);
        auto path = g.run(fmt::format("command -v {}", tool));
        REQUIRE(path.status == 0);
        CHECK(g.run("readlink -f " + trimmed(path.out)).out == "/usr/bin/kmod\n");
        // lsmod takes no options, not even --version.
        if (std::string_view{tool} == "lsmod")
            continue;
        auto version = g.run(fmt::format("{} --version", tool));
        CHECK(version.status == 0);
        CHECK(first_line(version.out) == host_version);
    }
    // busybox's lsmod adds a Tainted column to the header; kmod's does not.
    auto lsmod = g.run("lsmod");
    REQUIRE(lsmod.status == 0);
    CHECK(first_line(lsmod.out) == "Module                  Size  Used by");
}

TEST_CASE("dmesg, mount and umount are util-linux's, ip is iproute2's, sh is dash", "[tools]")
{
    auto& g = guest();
    struct Expected {
        const char* tool;
        const char* version_flag;
        const char* starts;
    };
    constexpr std::array expected = {
        Expected{"dmesg", "--version", "dmesg from util-linux "},
        Expected{"mount", "--version", "mount from util-linux "},
        Expected{"umount", "--version", "umount from util-linux "},
        Expected{"ip", "-V", "ip utility, iproute2-"},
    };
    for (const auto& tool : expected) {
        INFO(tool.tool);
        auto version = g.run(fmt::format("{} {}", tool.tool, tool.version_flag));
        REQUIRE(version.status == 0);
        CHECK_THAT(version.out, StartsWith(tool.starts));
        CHECK(first_line(version.out) == first_line_on_host({tool.tool, tool.version_flag}));
    }
    CHECK(g.run("readlink -f /bin/sh").out == "/usr/bin/dash\n");
    // dash has no $BASH_VERSION and no busybox help.
    auto shell = g.run("echo \"${BASH_VERSION:-none}\"; busybox sh -c 'echo $0'");
    CHECK(shell.out == "none\nsh\n");
}

TEST_CASE("the kernel's requests for modules run kmod's modprobe", "[tools]")
{
    auto& g = guest();
    CHECK(g.read("/proc/sys/kernel/modprobe") == "/sbin/modprobe\n");
    CHECK(g.run("readlink -f /sbin/modprobe").out == "/usr/bin/kmod\n");
}

TEST_CASE("busybox stays for the small tools", "[tools]")
{
    auto& g = guest();
    for (const auto* tool : {"cat", "grep", "ls", "sleep"}) {
        INFO(tool);
        CHECK(g.run(fmt::format("readlink -f \"$(command -v {})\"", tool)).out ==
              "/bin/busybox\n");
    }
}
