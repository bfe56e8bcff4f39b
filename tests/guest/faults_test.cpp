// SPDX-License-Identifier: GPL-2.0
// Modules that break the kernel on purpose, and what the guest runtime makes
// of it: an Oops kills the writer and is reported by health() and
// check_healthy() with its call trace; an init that never returns makes the
// command's deadline fire; a WARN is reported but not fatal. After each the
// guest boots again, healthy; the "after ..." cases cause their own fault
// to show it, so that each case passes when run alone.
#include "guest_suite.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest(
        [] { return with_built_modules({"kms_fault_oops", "kms_fault_hang", "kms_fault_warn"}); });
}

// Changes at every boot.
std::string boot_id(Guest& g)
{
    return g.read("/proc/sys/kernel/random/boot_id");
}

bool loaded(Guest& g, std::string_view module)
{
    auto modules = g.loaded_modules();
    return std::find(modules.begin(), modules.end(), module) != modules.end();
}

// A module's write handler writes through a NULL pointer: the kernel
// Oopses and kills the writer, the shell that ran echo (a builtin).
// Returns the boot it happened in.
std::string oops(Guest& g)
{
    REQUIRE(g.insmod("kms_fault_oops").ok());
    auto faulted = boot_id(g);
    REQUIRE(g.run("echo 1 > /dev/kms_fault_oops").status == 128 + 9);
    return faulted;
}

// What a fresh boot looks like, after a fault in boot `faulted`: a new
// boot id, an untainted kernel, none of the staged modules loaded, and
// modules that load and unload.
void check_fresh_boot(Guest& g, const std::string& faulted)
{
    CHECK(boot_id(g) != faulted);
    CHECK(g.read("/proc/sys/kernel/tainted") == "0\n");
    CHECK(g.run("echo alive").out == "alive\n");
    CHECK_FALSE(loaded(g, "kms_fault_oops"));
    CHECK_FALSE(loaded(g, "kms_fault_hang"));
    CHECK(g.insmod("kms_fault_oops").ok());
    CHECK(g.rmmod("kms_fault_oops").ok());
    CHECK_HEALTHY(g);
}

}  // namespace

TEST_CASE("a NULL pointer write in a module Oopses: the writer is killed and health() "
          "reports the Oops with its call trace",
          "[faults]")
{
    auto& g = guest();
    REQUIRE(g.run("insmod kms_fault_oops.ko").status == 0);
    REQUIRE(g.health().healthy());

    auto oops = g.run("echo 1 > /dev/kms_fault_oops");
    // The shell did the write itself (echo is built in): the Oops killed it.
    CHECK(oops.status == 128 + 9);

    auto report = g.health();
    CHECK_FALSE(report.healthy());
    CHECK(report.agent_alive);
    REQUIRE(report.problems.size() == 1);
    const auto& problem = report.problems[0];
    CHECK_THAT(problem, Contains("[Oops"));
    CHECK_THAT(problem, Contains("BUG: kernel NULL pointer dereference, address: 0000000000000000"));
    CHECK_THAT(problem, Contains("#PF: supervisor write access in kernel mode"));
    CHECK_THAT(problem, Contains("Oops: 0002 [#1]"));
    CHECK_THAT(problem, Contains("RIP: 0010:kms_fault_oops_poke+"));
    CHECK_THAT(problem, Contains("Call Trace:"));
    CHECK_THAT(problem, Contains("kms_fault_oops_write+") && Contains("[kms_fault_oops]"));
    CHECK_THAT(problem, Contains("vfs_write+"));
    // D: the kernel died once (an Oops); O and E: the module is out of tree
    // and unsigned.
    CHECK_THAT(report.new_taints, Contains("D"));
    CHECK_THAT(report.describe(), Contains("New taint flags:"));

    // The Oops killed a task, not the kernel: the agent answers, and the
    // module, which holds nothing for the dead writer, still unloads.
    CHECK(g.run("echo alive").out == "alive\n");
    CHECK(g.rmmod("kms_fault_oops").ok());
    CHECK(g.read("/proc/sys/kernel/tainted") != "0\n");

    // health() reported it once; the kernel stays tainted D until a new
    // boot.
    g.reboot();
}

TEST_CASE("after an Oops and a reboot the guest is healthy again", "[faults]")
{
    auto& g = guest();
    auto faulted = oops(g);
    g.reboot();
    check_fresh_boot(g, faulted);
}

TEST_CASE("check_healthy() throws GuestUnhealthy with the Oops report", "[faults]")
{
    auto& g = guest();
    REQUIRE(g.insmod("kms_fault_oops").ok());
    CHECK_HEALTHY(g);
    CHECK(g.run("echo 1 > /dev/kms_fault_oops").status == 128 + 9);
    try {
        g.check_healthy();
        FAIL("check_healthy() did not throw after an Oops");
    } catch (const GuestUnhealthy& unhealthy) {
        std::string what = unhealthy.what();
        CHECK_THAT(what, Contains(g.release() + " guest is not healthy"));
        CHECK_THAT(what, Contains("BUG: kernel NULL pointer dereference"));
        CHECK_THAT(what, Contains("RIP: 0010:kms_fault_oops_poke+"));
        CHECK_THAT(what, Contains("kms_fault_oops_write+"));
        CHECK_THAT(what, Contains("New taint flags: D"));
    }
    // The runtime boots it again for its next use (the next test).
}

TEST_CASE("after check_healthy() failed the guest boots again, healthy", "[faults]")
{
    auto& g = guest();
    auto faulted = oops(g);
    CHECK_THROWS_AS(g.check_healthy(), GuestUnhealthy);
    check_fresh_boot(g, faulted);
}

TEST_CASE("an init that never returns makes run() throw CommandTimeout naming the command, "
          "with the console tail",
          "[faults]")
{
    auto& g = guest();
    // Everything reaches the console, so its tail shows init's last words.
    REQUIRE(g.run("echo 8 > /proc/sys/kernel/printk").status == 0);
    try {
        g.run("insmod kms_fault_hang.ko", std::chrono::seconds(2));
        FAIL("insmod of kms_fault_hang returned");
    } catch (const CommandTimeout& timeout) {
        std::string what = timeout.what();
        CHECK_THAT(what, Contains("`insmod kms_fault_hang.ko` did not finish within 2.0 s"));
        CHECK_THAT(what, Contains("will boot again"));
        CHECK_THAT(what, Contains("Console tail:"));
        CHECK_THAT(what, Contains("kms_fault_hang: init never returns"));
    }
}

TEST_CASE("after a command timed out the guest boots again, healthy", "[faults]")
{
    auto& g = guest();
    auto faulted = boot_id(g);
    CHECK_THROWS_AS(g.run("insmod kms_fault_hang.ko", std::chrono::seconds(2)), CommandTimeout);
    check_fresh_boot(g, faulted);
}

TEST_CASE("a hung init leaves the module Loading, insmod in state D, and the hung task "
          "detector reports it",
          "[faults]")
{
    auto& g = guest();
    auto mark = g.log_mark();
    REQUIRE_NOTHROW(g.write("/proc/sys/kernel/hung_task_timeout_secs", "1"));
    // In the background, so that this command returns.
    auto started = g.run("insmod kms_fault_hang.ko </dev/null >/dev/null 2>&1 & echo $!");
    REQUIRE(started.status == 0);
    auto pid = started.out.substr(0, started.out.find('\n'));

    // khungtaskd looks every second and reports a task blocked longer.
    auto headline = fmt::format("INFO: task insmod:{} blocked for more than", pid);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string report;  // the first one, to the end of its stack
    while (report.empty() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        auto log = g.dmesg_since(mark);
        auto at = log.find(headline);
        auto end = at == std::string::npos ? at : log.find("</TASK>", at);
        if (end != std::string::npos)
            report = log.substr(at, end - at);
    }
    REQUIRE_FALSE(report.empty());
    // The stack: waiting for the completion, in the module's init, called
    // by finit_module. PREEMPT_RT's completions wait in
    // wait_for_completion itself; the others in __wait_for_common.
    auto waits_for_completion = [](const std::string& stack) {
        return stack.find("__wait_for_common+") != std::string::npos ||
               stack.find("wait_for_completion+") != std::string::npos;
    };
    CHECK(waits_for_completion(report));  // the report is in the checks below
    CHECK_THAT(report, Contains("kms_fault_hang_init+") && Contains("[kms_fault_hang]"));
    CHECK_THAT(report, Contains("do_init_module+"));

    std::vector<std::string> hung;
    for (const auto& problem : g.health().problems)
        if (problem.find("[hung task") != std::string::npos)
            hung.push_back(problem);
    REQUIRE_FALSE(hung.empty());
    CHECK_THAT(hung[0], Contains(headline));
    CHECK_THAT(hung[0], Contains("task:insmod") && Contains("state:D"));
    CHECK(waits_for_completion(hung[0]));

    auto modules = lines_with(g.read("/proc/modules"), "kms_fault_hang ");
    REQUIRE(modules.size() == 1);
    CHECK_THAT(modules[0], Contains(" Loading "));
    // "pid (comm) state ...": D, an uninterruptible sleep.
    auto stat = g.read("/proc/" + pid + "/stat");
    CHECK_THAT(stat, Contains("(insmod) D "));
    // Not even SIGKILL ends it: the signal stays pending (SigPnd bit 8 is
    // SIGKILL, signal 9) and the task sleeps on.
    REQUIRE(g.run("kill -9 " + pid + "; sleep 0.2").status == 0);
    CHECK_THAT(g.read("/proc/" + pid + "/stat"), Contains("(insmod) D "));
    CHECK_THAT(g.read("/proc/" + pid + "/status"), Contains("SigPnd:\t0000000000000100"));

    auto faulted = boot_id(g);
    g.reboot();
    check_fresh_boot(g, faulted);
}

TEST_CASE("a WARN in init is reported but not fatal: the module loads and unloads",
          "[faults]")
{
    auto& g = guest();
    REQUIRE(g.health().healthy());
    auto loaded_log = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_fault_warn").ok()); });
    CHECK_THAT(loaded_log, Contains("kms_fault_warn: loaded after a warning"));
    auto modules = lines_with(g.read("/proc/modules"), "kms_fault_warn ");
    REQUIRE(modules.size() == 1);
    CHECK_THAT(modules[0], Contains(" Live "));
    CHECK(g.run("echo alive").out == "alive\n");

    auto report = g.health();
    CHECK(report.agent_alive);
    REQUIRE(report.problems.size() == 1);
    CHECK_THAT(report.problems[0], Contains("[WARNING"));
    // 6.x: "WARNING: CPU: 0 PID: 9 at …/kms_fault_warn.c:23 …";
    // 7.x: "WARNING: kms_fault_warn.c:22 at …, CPU#0: …".
    CHECK_THAT(report.problems[0],
               Contains("WARNING: ") && Contains("kms_fault_warn.c:") && Contains("CPU"));
    CHECK_THAT(report.problems[0], Contains("kms_fault_warn_init+"));
    CHECK_THAT(report.problems[0], Contains("Call Trace:"));
    CHECK_THAT(report.new_taints, Contains("W"));
    CHECK_FALSE(report.healthy());
    CHECK_FALSE(report.healthy("OEW"));  // a problem is a problem, allowed taint or not

    // Not fatal: it unloads like any module, and nothing more is reported.
    auto unloaded = kernel_log_during(g, [&] { CHECK(g.run("rmmod kms_fault_warn").status == 0); });
    CHECK_THAT(unloaded, Contains("kms_fault_warn: unloaded"));
    CHECK_FALSE(loaded(g, "kms_fault_warn"));
    auto after = g.health();
    CHECK(after.problems.empty());
    CHECK(after.new_taints.empty());
    // W stays until the next boot.
    CHECK_THAT(after.taints, Contains("W"));

    auto faulted = boot_id(g);
    g.reboot();
    check_fresh_boot(g, faulted);
}
