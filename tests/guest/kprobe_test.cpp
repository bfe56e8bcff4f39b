// SPDX-License-Identifier: GPL-2.0
// What a module can do about system calls, in a real kernel: not add or
// replace one (sys_call_table is there, in the kernel's read-only data, and
// exported to no module), but watch one. kms_kprobe puts a kprobe on the
// entry of sync(2), which nothing in the guest calls but the sync command,
// and counts: N syncs read N in debugfs. kprobes/list shows the probe while
// the module is loaded and not after; a symbol kprobes cannot find or may
// not probe fails the load with a message saying which; kprobes/enabled 0
// disarms the probe; and the debugfs files are safe against rmmod.
#include "guest_suite.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_kprobe"}); });
}

const std::string calls_file = "/sys/kernel/debug/kms_kprobe/calls";
const std::string missed_file = "/sys/kernel/debug/kms_kprobe/missed";
const std::string kprobes_list = "/sys/kernel/debug/kprobes/list";
const std::string kprobes_enabled = "/sys/kernel/debug/kprobes/enabled";

// A probe asked for at a function's entry lands past the ENDBR64 that
// kernels built with IBT (6.12, 7.3) start functions with; 6.1 has none.
unsigned entry_offset()
{
    return test_kernel().config_enabled("X86_KERNEL_IBT") ? 4 : 0;
}

// The name kallsyms gives sync(2)'s entry. SYSCALL_DEFINE0 makes
// __x64_sys_sync and __ia32_sys_sync aliases of the static __do_sys_sync,
// and kallsyms names the address after that one: in kprobes/list, in %pS.
const std::string sync_entry = "__do_sys_sync";

struct KernelSymbol {
    std::uint64_t address;
    std::string type;
};

// The lines of /proc/kallsyms that `command` (a grep of it) printed, by
// name. The guest runs as root with kptr_restrict 0: real addresses.
std::map<std::string, KernelSymbol> kallsyms(Guest& g, const std::string& command)
{
    auto grep = g.run(command);
    REQUIRE(grep.status == 0);
    std::map<std::string, KernelSymbol> symbols;
    for (const auto& line : lines_with(grep.out, " ")) {
        auto fields = words(line);
        REQUIRE(fields.size() == 3);
        symbols[fields[2]] = {std::stoull(fields[0], nullptr, 16), fields[1]};
    }
    return symbols;
}

// The lines of kprobes/list about probes in `function`.
std::vector<std::string> probes_in(Guest& g, const std::string& function)
{
    return lines_with(g.read(kprobes_list), "  " + function + "+0x");
}

// Turns kprobes back on at the end of a test that turned them off, also
// when an assertion stopped it early: the setting is the kernel's.
class KprobesEnabledAtEnd {
public:
    explicit KprobesEnabledAtEnd(Guest& g) : guest_{g} {}
    KprobesEnabledAtEnd(const KprobesEnabledAtEnd&) = delete;
    KprobesEnabledAtEnd& operator=(const KprobesEnabledAtEnd&) = delete;
    ~KprobesEnabledAtEnd()
    {
        try {
            guest_.run("echo 1 > " + kprobes_enabled);
        } catch (...) {
            // A guest that died boots again, with kprobes enabled.
        }
    }

private:
    Guest& guest_;
};

}  // namespace

TEST_CASE("each sync(2) runs kms_kprobe's handler once: the count reads 0, 5, then 8",
          "[kprobe]")
{
    auto& g = guest();
    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_kprobe").ok()); });
    CHECK_THAT(loaded, Contains(fmt::format("kms_kprobe: counting calls of __x64_sys_sync, "
                                            "probe at {}+{:#x}/",
                                            sync_entry, entry_offset())));

    // Nothing in the guest calls sync(2) by itself: the agent only does
    // when it powers off.
    CHECK(g.read(calls_file) == "0\n");
    REQUIRE(g.run("sleep 1").ok());
    CHECK(g.read(calls_file) == "0\n");
    REQUIRE(g.run("for i in 1 2 3 4 5; do sync; done").ok());
    CHECK(g.read(calls_file) == "5\n");
    REQUIRE(g.run("sync; sync; sync").ok());
    CHECK(g.read(calls_file) == "8\n");
    // No hit came while another kprobe handler ran on the same CPU.
    CHECK(g.read(missed_file) == "0\n");

    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.rmmod("kms_kprobe").ok()); });
    CHECK_THAT(unloaded,
               Contains("kms_kprobe: removed the probe on __x64_sys_sync; calls: 8, missed: 0"));
    CHECK_FALSE(exists(g, "/sys/kernel/debug/kms_kprobe"));

    // A new load counts from 0: the per-CPU counters went with the module.
    REQUIRE(g.insmod("kms_kprobe").ok());
    CHECK(g.read(calls_file) == "0\n");
    REQUIRE(g.rmmod("kms_kprobe").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("kprobes/list shows the probe at sync(2)'s entry while kms_kprobe is loaded, and not "
          "after",
          "[kprobe]")
{
    auto& g = guest();
    // One function under three names; a 32-bit sync() would be counted too.
    auto entry = kallsyms(
        g, "grep -E ' (__do_sys_sync|__x64_sys_sync|__ia32_sys_sync)$' /proc/kallsyms");
    REQUIRE(entry.count("__x64_sys_sync") == 1);
    REQUIRE(entry.count(sync_entry) == 1);
    CHECK(entry["__x64_sys_sync"].type == "T");
    CHECK(entry[sync_entry].type == "t");
    CHECK(entry[sync_entry].address == entry["__x64_sys_sync"].address);
    if (test_kernel().config_enabled("IA32_EMULATION")) {
        REQUIRE(entry.count("__ia32_sys_sync") == 1);
        CHECK(entry["__ia32_sys_sync"].address == entry["__x64_sys_sync"].address);
    }

    REQUIRE(probes_in(g, sync_entry).empty());
    REQUIRE(g.insmod("kms_kprobe").ok());

    // "<address>  k  <symbol>+<offset>    [FTRACE]": k for a kprobe (r for
    // a kretprobe); the column after the offset names the module the
    // probed code is in, blank for the kernel's own; then the flags.
    auto probes = probes_in(g, sync_entry);
    REQUIRE(probes.size() == 1);
    auto fields = words(probes[0]);
    REQUIRE(fields.size() >= 3);
    CHECK(fields[0] == fmt::format("{:016x}", entry[sync_entry].address + entry_offset()));
    CHECK(fields[1] == "k");
    CHECK(fields[2] == fmt::format("{}+{:#x}", sync_entry, entry_offset()));
    // At the function's ftrace call site the probe is an ftrace hook, not
    // a breakpoint: what every kernel of the matrix does.
    if (test_kernel().config_enabled("KPROBES_ON_FTRACE")) {
        CHECK(fields.size() == 4);
        CHECK(fields.back() == "[FTRACE]");
    }

    REQUIRE(g.rmmod("kms_kprobe").ok());
    CHECK(probes_in(g, sync_entry).empty());
    CHECK_HEALTHY(g);
}

TEST_CASE("a symbol kprobes cannot find or may not probe fails the load, says why, and leaves "
          "nothing behind",
          "[kprobe]")
{
    auto& g = guest();
    ModuleResult missing;
    auto log = kernel_log_during(
        g, [&] { missing = g.insmod("kms_kprobe", "symbol=__x64_sys_nosuch"); });
    CHECK(missing.error == ENOENT);
    CHECK_THAT(log, Contains("kms_kprobe: cannot probe __x64_sys_nosuch: -ENOENT, no such "
                             "symbol in /proc/kallsyms"));

    // The int3 handler is on kprobes' blacklist: a probe there would recurse.
    bool listed = false;
    for (const auto& line : lines_with(g.read("/sys/kernel/debug/kprobes/blacklist"), "exc_int3")) {
        auto fields = words(line);
        listed = listed || (fields.size() == 2 && fields[1] == "exc_int3");
    }
    CHECK(listed);
    ModuleResult refused;
    log = kernel_log_during(g, [&] { refused = g.insmod("kms_kprobe", "symbol=exc_int3"); });
    CHECK(refused.error == EINVAL);
    CHECK_THAT(log, Contains("kms_kprobe: cannot probe exc_int3: -EINVAL, not code that kprobes "
                             "may probe (see /sys/kernel/debug/kprobes/blacklist)"));

    // Nor is data code: jiffies is a variable.
    CommandResult insmod;
    log = kernel_log_during(g, [&] { insmod = g.run("insmod kms_kprobe.ko symbol=jiffies"); });
    CHECK(insmod.status != 0);
    CHECK_THAT(log, Contains("kms_kprobe: cannot probe jiffies: -EINVAL"));

    // init unwound what it had made before register_kprobe() failed.
    CHECK_FALSE(is_loaded(g, "kms_kprobe"));
    CHECK_FALSE(exists(g, "/sys/kernel/debug/kms_kprobe"));
    CHECK(g.read(kprobes_list).empty());
    CHECK_HEALTHY(g);
}

TEST_CASE("kprobes/enabled 0 disarms the probe: the syncs made meanwhile are not counted",
          "[kprobe]")
{
    auto& g = guest();
    KprobesEnabledAtEnd reenable{g};
    REQUIRE(g.read(kprobes_enabled) == "1\n");
    REQUIRE(g.insmod("kms_kprobe").ok());
    REQUIRE(g.run("sync").ok());
    CHECK(g.read(calls_file) == "1\n");

    auto off = kernel_log_during(g, [&] { REQUIRE(g.run("echo 0 > " + kprobes_enabled).ok()); });
    CHECK_THAT(off, Contains("kprobes: Kprobes globally disabled"));
    CHECK(g.read(kprobes_enabled) == "0\n");
    REQUIRE(g.run("sync; sync; sync").ok());
    CHECK(g.read(calls_file) == "1\n");
    // Still registered, and listed without a flag: disarmed is global.
    CHECK(probes_in(g, sync_entry).size() == 1);

    auto on = kernel_log_during(g, [&] { REQUIRE(g.run("echo 1 > " + kprobes_enabled).ok()); });
    CHECK_THAT(on, Contains("kprobes: Kprobes globally enabled"));
    REQUIRE(g.run("sync").ok());
    CHECK(g.read(calls_file) == "2\n");

    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.rmmod("kms_kprobe").ok()); });
    CHECK_THAT(unloaded,
               Contains("kms_kprobe: removed the probe on __x64_sys_sync; calls: 2, missed: 0"));
    CHECK_HEALTHY(g);
}

TEST_CASE("an open calls file holds kms_kprobe; an open missed file does not, and reads EIO "
          "after rmmod",
          "[kprobe]")
{
    auto& g = guest();
    REQUIRE(g.insmod("kms_kprobe").ok());

    // DEFINE_DEBUGFS_ATTRIBUTE's fops name the module their owner.
    auto holder = hold_open(g, calls_file, "kms_kprobe");
    auto refused = g.rmmod("kms_kprobe");
    CHECK(refused.error == EBUSY);
    CHECK(refused.message == "Module kms_kprobe is in use");
    CHECK(is_loaded(g, "kms_kprobe"));
    REQUIRE(g.run("kill " + holder + "\n" + wait_for_refcount_script("kms_kprobe", 0)).ok());
    REQUIRE(g.read("/sys/module/kms_kprobe/refcnt") == "0\n");

    // debugfs_create_ulong()'s fops are debugfs's: no reference, and
    // debugfs_remove() cuts the open file off from the module's data.
    auto left_open = g.run("exec 3< " + missed_file +
                           "\n"
                           "cat /sys/module/kms_kprobe/refcnt\n"
                           "rmmod kms_kprobe || exit 10\n"
                           "cat <&3");
    CHECK(left_open.status == 1);
    CHECK(left_open.out == "0\n");
    CHECK_THAT(left_open.err, Contains("Input/output error"));
    CHECK_FALSE(is_loaded(g, "kms_kprobe"));
    CHECK_HEALTHY(g);
}

TEST_CASE("sys_call_table is in the kernel's read-only data and exported to no module; "
          "register_kprobe() is",
          "[kprobe]")
{
    auto& g = guest();
    auto symbols =
        kallsyms(g,
                 "grep -E ' (sys_call_table|__start_rodata|__end_rodata|x64_sys_call|"
                 "kallsyms_lookup_name|__ksymtab_sys_call_table|"
                 "__ksymtab_kallsyms_lookup_name|__ksymtab_register_kprobe)$' /proc/kallsyms");
    REQUIRE(symbols.count("sys_call_table") == 1);
    REQUIRE(symbols.count("__start_rodata") == 1);
    REQUIRE(symbols.count("__end_rodata") == 1);
    // Between the marks mark_rodata_ro() write-protects at the end of boot
    // (kallsyms types it D: the section also holds __ro_after_init data).
    CHECK(symbols["__start_rodata"].address <= symbols["sys_call_table"].address);
    CHECK(symbols["sys_call_table"].address < symbols["__end_rodata"].address);
    CHECK_THAT(g.dmesg(), Contains("Write protecting the kernel read-only data: "));

    // An export has a __ksymtab_ entry; these two have none.
    CHECK(symbols.count("__ksymtab_sys_call_table") == 0);
    CHECK(symbols.count("kallsyms_lookup_name") == 1);
    CHECK(symbols.count("__ksymtab_kallsyms_lookup_name") == 0);
    CHECK(symbols.count("__ksymtab_register_kprobe") == 1);

    // What dispatches 64-bit system calls instead of the table: a switch
    // over the numbers (global, T, up to 6.12; static, t, on 7.3).
    CHECK(symbols.count("x64_sys_call") == 1);
}
