// SPDX-License-Identifier: GPL-2.0
// vermagic in a real kernel: the kernel refuses a module built for another
// kernel, and says why in dmesg. The guest holds the OTHER cached kernel's
// build of kms_hello, as if copied from another machine. With MODVERSIONS
// (Debian's 6.x kernels) the release in vermagic is not what decides:
// symbol versions (and, on newer kernels, the size of struct module) are
// checked instead, and the rest of vermagic ("SMP preempt mod_unload
// modversions") must match. Without it (Debian's 7.x kernels) the whole
// vermagic, release included, must match. Copies of this kernel's
// kms_hello with a rewritten vermagic show both halves.
#include "guest_suite.hpp"

#include "kmsdk/cache.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// A cached kernel other than the one under test that this build made
// kms_hello for; one that records symbol versions as this one does first,
// the way a module usually comes from a machine of the same distribution.
std::optional<std::string> other_release()
{
    std::optional<std::string> unlike;
    for (const auto& kernel : Kernel::list()) {
        if (kernel.release() == test_kernel().release())
            continue;
        try {
            built_module("kms_hello", kernel.release());
        } catch (const std::runtime_error&) {
            continue;
        }
        if (kernel.config_enabled("MODVERSIONS") == test_kernel().config_enabled("MODVERSIONS"))
            return kernel.release();
        if (!unlike)
            unlike = kernel.release();
    }
    return unlike;
}

// A module without symbol versions loaded into a kernel that checks them
// taints it F ("module_layout: kernel tainted.") before anything else.
bool taints_for_missing_versions(const std::string& other)
{
    return test_kernel().config_enabled("MODVERSIONS") &&
           !Kernel::find(other).config_enabled("MODVERSIONS");
}

// The other release, or a failure saying what this suite needs.
std::string require_other_release()
{
    auto other = other_release();
    if (!other)
        FAIL("this suite needs a second cached kernel with the modules built for it: "
             "fetch one with `kmsdk kernels fetch <series>` (6.1 and 6.12 are in Debian 12), "
             "then build again");
    return *other;
}

// Its kms_hello is staged as /lib/modules/<release>/extra/kms_hello.ko: the
// only kms_hello there, so insmod and modprobe both find it by that name.
Guest& guest()
{
    return suite_guest([] {
        GuestOptions options;
        if (auto other = other_release())
            options.module(built_module("kms_hello", *other));
        return options;
    });
}

// This kernel's kms_hello.ko with the text of its vermagic rewritten;
// `rewrite` returns the new text, no longer than the old one (the rest is
// padded with NULs, which .modinfo skips between its strings).
struct Rewritten {
    std::string module;
    std::string old_vermagic;
    std::string new_vermagic;
};
// Where the text of the vermagic of a kms_hello.ko built for `release`
// starts and ends.
std::pair<std::size_t, std::size_t> vermagic_in(const std::string& module,
                                                const std::string& release)
{
    const std::string key = "vermagic=" + release + " ";
    auto at = module.find(key);
    REQUIRE(at != std::string::npos);
    REQUIRE(module.find(key, at + 1) == std::string::npos);
    at += std::string_view{"vermagic="}.size();
    auto end = module.find('\0', at);
    REQUIRE(end != std::string::npos);
    return {at, end};
}

// The vermagic of the kms_hello this build made for `release`.
std::string vermagic_of_built(const std::string& release)
{
    auto module = read_file(built_module("kms_hello", release));
    auto [at, end] = vermagic_in(module, release);
    return module.substr(at, end - at);
}

Rewritten with_vermagic(const std::function<std::string(const std::string&)>& rewrite)
{
    Rewritten result;
    result.module = read_file(built_module("kms_hello"));
    auto [at, end] = vermagic_in(result.module, test_kernel().release());
    result.old_vermagic = result.module.substr(at, end - at);
    result.new_vermagic = rewrite(result.old_vermagic);
    REQUIRE(result.new_vermagic.size() <= result.old_vermagic.size());
    auto padded = result.new_vermagic;
    padded.resize(result.old_vermagic.size(), '\0');
    result.module.replace(at, padded.size(), padded);
    return result;
}

// The size of an ELF64 section of a .ko, by name; nullopt when it has none.
std::optional<std::uint64_t> section_size(const std::string& elf, std::string_view name)
{
    auto u16 = [&](std::size_t at) {
        std::uint16_t v;
        std::memcpy(&v, elf.data() + at, 2);
        return v;
    };
    auto u64 = [&](std::size_t at) {
        std::uint64_t v;
        std::memcpy(&v, elf.data() + at, 8);
        return v;
    };
    REQUIRE(elf.size() > 64);
    REQUIRE(elf.compare(0, 4, "\x7f" "ELF") == 0);
    const auto sections = u64(0x28);
    const auto entry_size = u16(0x3a);
    const auto count = u16(0x3c);
    const auto names_section = sections + std::uint64_t{u16(0x3e)} * entry_size;
    const auto names = u64(names_section + 0x18);
    for (std::uint16_t i = 0; i < count; ++i) {
        const auto header = sections + std::uint64_t{i} * entry_size;
        std::uint32_t name_at;
        std::memcpy(&name_at, elf.data() + header, 4);
        if (std::string_view{elf.data() + names + name_at} == name)
            return u64(header + 0x20);
    }
    return std::nullopt;
}

// Where this kernel's struct module size check is, it comes first: a
// module built against a struct module of another size is refused for
// that. Older kernels (6.1) lack it, and a kernel of the same version in
// another flavour (6.12 and 6.12-rt) has a struct module of the same size:
// then, with MODVERSIONS, the CRC of module_layout, which every module
// records, differs; without, or when the module records no CRCs, the
// vermagic strings do.
std::string expected_refusal(const std::string& other)
{
    const std::string size_check =
        ".gnu.linkonce.this_module section size must match the kernel's built struct module "
        "size at run time";
    const auto theirs = section_size(read_file(built_module("kms_hello", other)),
                                     ".gnu.linkonce.this_module");
    const auto ours = section_size(read_file(built_module("kms_hello")),
                                   ".gnu.linkonce.this_module");
    REQUIRE(theirs);
    REQUIRE(ours);
    if (*theirs != *ours &&
        read_file(test_kernel().vmlinux()).find(size_check) != std::string::npos)
        return "module kms_hello: " + size_check;
    if (!test_kernel().config_enabled("MODVERSIONS") || taints_for_missing_versions(other))
        return fmt::format("kms_hello: version magic '{}' should be '{}'", vermagic_of_built(other),
                           vermagic_of_built(test_kernel().release()));
    return "kms_hello: disagrees about version of symbol module_layout";
}

}  // namespace

TEST_CASE("modinfo shows the release a module was built for, uname -r the running one",
          "[vermagic]")
{
    auto other = require_other_release();
    auto& g = guest();
    REQUIRE(g.run("uname -r").out == test_kernel().release() + "\n");
    auto vermagic = g.run("modinfo -F vermagic kms_hello.ko");
    REQUIRE(vermagic.status == 0);
    CHECK_THAT(vermagic.out, StartsWith(other + " SMP"));
    CHECK_THAT(vermagic.out, !Contains(test_kernel().release()));
}

TEST_CASE("a module built for the other kernel is refused as an invalid module format, "
          "and dmesg says why",
          "[vermagic]")
{
    auto other = require_other_release();
    auto& g = guest();
    const auto reason = expected_refusal(other);

    // kmod's insmod (and the agent) word ENOEXEC from finit_module as
    // "Invalid module format"; its modprobe prints strerror's "Exec format
    // error". Each asks the kernel once, so each refusal is logged once.
    auto by_insmod = kernel_log_during(g, [&] {
        auto insmod = g.run("insmod kms_hello.ko");
        CHECK(insmod.status != 0);
        CHECK(insmod.err ==
              "insmod: ERROR: could not insert module kms_hello.ko: Invalid module format\n");
    });
    CHECK(lines_with(by_insmod, reason).size() == 1);

    auto by_agent = kernel_log_during(g, [&] {
        auto result = g.insmod("kms_hello");
        CHECK(result.error == ENOEXEC);
        CHECK_THAT(result.message, Contains("Invalid module format"));
    });
    CHECK(lines_with(by_agent, reason).size() == 1);

    auto by_modprobe = kernel_log_during(g, [&] {
        auto modprobe = g.modprobe("kms_hello");
        CHECK_FALSE(modprobe.ok());
        CHECK_THAT(modprobe.err,
                   Contains("modprobe: ERROR: could not insert 'kms_hello': Exec format error"));
    });
    CHECK(lines_with(by_modprobe, reason).size() == 1);

    // Refused before any of its code ran.
    CHECK(lines_with(by_insmod + by_agent + by_modprobe, "hello, world").empty());
    CHECK_FALSE(is_loaded(g, "kms_hello"));
    if (taints_for_missing_versions(other)) {
        CHECK_THAT(by_insmod, Contains("kms_hello: module_layout: kernel tainted."));
        CHECK(g.health().new_taints == "F");
        g.reboot();  // no rmmod takes a taint away
    }
    CHECK_HEALTHY(g);
}

TEST_CASE("the release in vermagic is compared only without MODVERSIONS: a copy naming another "
          "release loads where symbol versions decide, and is refused where none are recorded",
          "[vermagic]")
{
    auto& g = guest();
    const bool modversions = test_kernel().config_enabled("MODVERSIONS");
    INFO("CONFIG_MODVERSIONS=" << test_kernel().config_value("MODVERSIONS"));
    auto copy = with_vermagic([](std::string vermagic) {
        vermagic[0] = vermagic[0] == '9' ? '8' : '9';  // 6.1.0-56-amd64 -> 9.1.0-56-amd64
        return vermagic;
    });
    g.write("/tmp/vermagic/kms_hello.ko", copy.module);
    auto modinfo = g.run("modinfo -F vermagic /tmp/vermagic/kms_hello.ko");
    CHECK(modinfo.out == copy.new_vermagic + "\n");

    CommandResult insmod;
    auto log = kernel_log_during(g, [&] { insmod = g.run("insmod /tmp/vermagic/kms_hello.ko"); });
    if (modversions) {
        REQUIRE(insmod.status == 0);
        CHECK_THAT(log, Contains("kms_hello: hello, world"));
        REQUIRE(g.rmmod("kms_hello").ok());
    } else {
        CHECK(insmod.status != 0);
        CHECK(insmod.err == "insmod: ERROR: could not insert module /tmp/vermagic/kms_hello.ko: "
                            "Invalid module format\n");
        CHECK_THAT(log, Contains(fmt::format("kms_hello: version magic '{}' should be '{}'",
                                             copy.new_vermagic, copy.old_vermagic)));
        CHECK_FALSE(is_loaded(g, "kms_hello"));
    }
    REQUIRE(g.run("rm -r /tmp/vermagic").status == 0);
    CHECK_HEALTHY(g);
}

TEST_CASE("the rest of vermagic must match: a copy that says it was built without preempt is "
          "refused, with the two version magics in dmesg",
          "[vermagic]")
{
    auto& g = guest();
    auto copy = with_vermagic([](std::string vermagic) {
        auto preempt = vermagic.find(" preempt ");
        REQUIRE(preempt != std::string::npos);
        return vermagic.erase(preempt, std::string_view{" preempt"}.size());
    });
    g.write("/tmp/vermagic/kms_hello.ko", copy.module);
    CHECK(g.run("modinfo -F vermagic /tmp/vermagic/kms_hello.ko").out == copy.new_vermagic + "\n");

    const auto reason = fmt::format("kms_hello: version magic '{}' should be '{}'",
                                    copy.new_vermagic, copy.old_vermagic);
    auto by_insmod = kernel_log_during(g, [&] {
        auto insmod = g.run("insmod /tmp/vermagic/kms_hello.ko");
        CHECK(insmod.status != 0);
        CHECK(insmod.err == "insmod: ERROR: could not insert module /tmp/vermagic/kms_hello.ko: "
                            "Invalid module format\n");
    });
    CHECK(lines_with(by_insmod, reason).size() == 1);

    auto by_agent = kernel_log_during(g, [&] {
        auto result = g.insmod("/tmp/vermagic/kms_hello.ko");
        CHECK(result.error == ENOEXEC);
        CHECK_THAT(result.message, Contains("Invalid module format"));
    });
    CHECK(lines_with(by_agent, reason).size() == 1);
    CHECK_FALSE(is_loaded(g, "kms_hello"));
    REQUIRE(g.run("rm -r /tmp/vermagic").status == 0);
    CHECK_HEALTHY(g);
}
