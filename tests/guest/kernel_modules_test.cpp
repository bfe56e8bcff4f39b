// SPDX-License-Identifier: GPL-2.0
// The lecture's lsmod example on the real modules: nf_conntrack_netlink and
// the chain of the kernel's own modules under it (nfnetlink, nf_conntrack,
// nf_defrag_ipv4, nf_defrag_ipv6, libcrc32c). What modules.dep and modinfo
// say about the chain, what modprobe loads, what lsmod's "Used by" shows,
// what insmod and rmmod refuse, and what modprobe -r takes away.
//
// The chain is what the kernel's configuration makes it: Debian's 7.x
// kernels build nfnetlink in (CONFIG_NETFILTER_NETLINK=y), and from 6.14
// there is no libcrc32c to load.
#include "guest_suite.hpp"
#include "text.hpp"

#include "kmsdk/cache.hpp"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest(
        [] { return GuestOptions{}.kernel_module("nf_conntrack_netlink"); });
}

bool is_a_module(std::string_view option)
{
    return test_kernel().config_value(option) == "m";
}

bool nfnetlink_is_a_module()
{
    return is_a_module("NETFILTER_NETLINK");
}

bool libcrc32c_is_a_module()
{
    return is_a_module("LIBCRC32C");
}

// What modprobe nf_conntrack_netlink loads, top first.
std::vector<std::string> chain()
{
    std::vector<std::string> modules = {"nf_conntrack_netlink"};
    if (nfnetlink_is_a_module())
        modules.emplace_back("nfnetlink");
    for (const auto* module : {"nf_conntrack", "nf_defrag_ipv4", "nf_defrag_ipv6"})
        modules.emplace_back(module);
    if (libcrc32c_is_a_module())
        modules.emplace_back("libcrc32c");
    return modules;
}

// The modules whose symbols nf_conntrack_netlink itself calls.
std::set<std::string> direct_dependencies()
{
    std::set<std::string> modules = {"nf_conntrack"};
    if (nfnetlink_is_a_module())
        modules.insert("nfnetlink");
    return modules;
}

// "nf_conntrack" from "kernel/net/netfilter/nf_conntrack.ko(.xz)".
std::string module_name(const std::string& path)
{
    auto name = path.substr(path.find_last_of('/') + 1);
    return name.substr(0, name.find(".ko"));
}

// The names a modules.dep lists for the module whose path ends in `file`
// ("/nf_conntrack_netlink.ko"), or nullopt if it has no such line.
std::optional<std::set<std::string>> dependencies_in(const std::string& modules_dep,
                                                     std::string_view file)
{
    std::istringstream lines{modules_dep};
    for (std::string line; std::getline(lines, line);) {
        auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        auto path = line.substr(0, colon);
        auto name_at = path.find_last_of('/');
        auto name = path.substr(name_at == std::string::npos ? 0 : name_at);
        if (name.rfind(file, 0) != 0)
            continue;
        std::set<std::string> names;
        for (const auto& dependency : words(line.substr(colon + 1)))
            names.insert(module_name(dependency));
        return names;
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("modules.dep in the guest lists nf_conntrack_netlink's dependencies, as Debian's does",
          "[kernel_modules]")
{
    auto& g = guest();
    auto all = chain();
    const std::set<std::string> expected(std::next(all.begin()), all.end());
    // Written by depmod at the boot pass, over the staged modules.
    auto in_guest = dependencies_in(g.read("/lib/modules/" + g.release() + "/modules.dep"),
                                    "/nf_conntrack_netlink.ko");
    REQUIRE(in_guest);
    CHECK(*in_guest == expected);
    // The line of the kernel package's whole tree (depmod on the host): the
    // same chain, found again in the guest from the staged closure alone.
    auto in_package = dependencies_in(
        read_file(test_kernel().modules_dir() / "modules.dep"), "/nf_conntrack_netlink.ko");
    REQUIRE(in_package);
    CHECK(*in_package == *in_guest);
}

TEST_CASE("modinfo by name shows the modules nf_conntrack_netlink depends on", "[kernel_modules]")
{
    auto& g = guest();
    auto modinfo = g.run("modinfo nf_conntrack_netlink");
    REQUIRE(modinfo.status == 0);
    CHECK_THAT(modinfo.out, Contains("kernel/net/netfilter/nf_conntrack_netlink.ko"));
    CHECK_THAT(modinfo.out, Contains("intree:") && Contains("vermagic:") &&
                                Contains(g.release() + " SMP"));
    // Only the direct dependencies, the ones whose symbols it calls.
    auto depends = lines_with(modinfo.out, "depends:");
    REQUIRE(depends.size() == 1);
    auto listed = detail::split(words(depends[0]).back(), ',');
    CHECK(std::set<std::string>(listed.begin(), listed.end()) == direct_dependencies());
}

TEST_CASE("insmod nf_conntrack_netlink by path fails: it loads none of its dependencies",
          "[kernel_modules]")
{
    auto& g = guest();
    auto before = g.loaded_modules();
    REQUIRE_FALSE(is_loaded(g, "nf_conntrack"));
    auto path = "/lib/modules/" + g.release() + "/kernel/net/netfilter/nf_conntrack_netlink.ko";
    CommandResult insmod;
    auto log = kernel_log_during(g, [&] { insmod = g.run("insmod " + path); });
    CHECK(insmod.status != 0);
    CHECK(insmod.err == "insmod: ERROR: could not insert module " + path +
                            ": Unknown symbol in module\n");
    // One line per symbol of nf_conntrack and nfnetlink it needs.
    CHECK_THAT(log, Contains("nf_conntrack_netlink: Unknown symbol nf_conntrack_alloc (err -2)"));
    if (nfnetlink_is_a_module())
        CHECK_THAT(
            log, Contains("nf_conntrack_netlink: Unknown symbol nfnetlink_subsys_register (err -2)"));
    CHECK(g.loaded_modules() == before);
    CHECK_HEALTHY(g);
}

TEST_CASE("modprobe nf_conntrack_netlink loads the chain, and lsmod shows who uses whom",
          "[kernel_modules]")
{
    auto& g = guest();
    auto before = g.loaded_modules();
    for (const auto& module : chain())
        REQUIRE_FALSE(is_loaded(g, module));

    REQUIRE(g.modprobe("nf_conntrack_netlink").ok());
    for (const auto& module : chain()) {
        INFO(module);
        CHECK(is_loaded(g, module));
    }

    // lsmod: Module Size Used-by-count Used-by-list.
    auto lsmod = g.run("lsmod").out;
    auto used_by = [&](std::string_view module) {
        auto fields = words(line_of(lsmod, module));
        INFO(module << ": " << line_of(lsmod, module));
        REQUIRE(fields.size() >= 3);
        return std::pair{fields[2], fields.size() > 3 ? fields[3] : std::string{}};
    };
    CHECK(used_by("nf_conntrack_netlink") == std::pair<std::string, std::string>{"0", ""});
    if (nfnetlink_is_a_module())
        CHECK(used_by("nfnetlink") ==
              std::pair<std::string, std::string>{"1", "nf_conntrack_netlink"});
    CHECK(used_by("nf_conntrack") ==
          std::pair<std::string, std::string>{"1", "nf_conntrack_netlink"});
    CHECK(used_by("nf_defrag_ipv4") == std::pair<std::string, std::string>{"1", "nf_conntrack"});
    CHECK(used_by("nf_defrag_ipv6") == std::pair<std::string, std::string>{"1", "nf_conntrack"});
    if (libcrc32c_is_a_module())
        CHECK(used_by("libcrc32c") == std::pair<std::string, std::string>{"1", "nf_conntrack"});

    REQUIRE(g.modprobe("-r nf_conntrack_netlink").ok());
    unload_new_modules(g, before);
    CHECK_HEALTHY(g);
}

TEST_CASE("rmmod refuses a module in use and removes only what it is told; modprobe -r takes "
          "what it can of the chain",
          "[kernel_modules]")
{
    auto& g = guest();
    auto before = g.loaded_modules();
    REQUIRE(g.modprobe("nf_conntrack_netlink").ok());

    // From the bottom: refused while a module above holds it.
    check_rmmod_refused_in_use(g, "nf_conntrack", "nf_conntrack_netlink");
    if (nfnetlink_is_a_module())
        check_rmmod_refused_in_use(g, "nfnetlink", "nf_conntrack_netlink");

    // What stays loaded, unused, once the SECTION is done.
    std::set<std::string> left;
    SECTION("rmmod takes the top module only; its dependencies stay, unused")
    {
        REQUIRE(g.run("rmmod nf_conntrack_netlink").status == 0);
        CHECK_FALSE(is_loaded(g, "nf_conntrack_netlink"));
        auto lsmod = g.run("lsmod").out;
        for (const auto& module : direct_dependencies()) {
            auto fields = words(line_of(lsmod, module));
            INFO(module);
            REQUIRE(fields.size() == 3);
            CHECK(fields[2] == "0");
        }
        // modprobe -r of each remaining top takes what it alone needed.
        for (const auto& module : direct_dependencies())
            REQUIRE(g.modprobe("-r " + module).ok());
    }
    SECTION("modprobe -r of the top stops where a dependency was still in use when tried")
    {
        // kmod removes the top, then tries each module of its modules.dep
        // line once, last listed first: nf_defrag_ipv4, nf_defrag_ipv6
        // and libcrc32c come before nf_conntrack, which still holds them,
        // so they stay; nf_conntrack and nfnetlink go.
        auto removal = g.modprobe("-r -v nf_conntrack_netlink");
        REQUIRE(removal.ok());
        CHECK_THAT(removal.out, Contains("rmmod nf_conntrack_netlink\nrmmod nf_conntrack\n"));
        left = {"nf_defrag_ipv4", "nf_defrag_ipv6"};
        if (libcrc32c_is_a_module())
            left.insert("libcrc32c");
        auto lsmod = g.run("lsmod").out;
        for (const auto& module : left) {
            auto fields = words(line_of(lsmod, module));
            INFO(module);
            REQUIRE(fields.size() == 3);
            CHECK(fields[2] == "0");
        }
    }

    auto modules = g.read("/proc/modules");
    for (const auto& module : chain()) {
        INFO(module);
        CHECK(line_of(modules, module).empty() != left.contains(module));
    }
    // What libcrc32c asked the crypto API for (crc32c_generic, through the
    // kernel's own request_module) is not in modules.dep, so modprobe -r
    // leaves it, unused.
    unload_new_modules(g, before);
    CHECK_HEALTHY(g);
}
