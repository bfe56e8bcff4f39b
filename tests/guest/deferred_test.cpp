// SPDX-License-Identifier: GPL-2.0
// Deferring work, in a real kernel: kms_deferred's timer (softirq context)
// queues a work item on the module's own workqueue (a kworker, which may
// sleep), and the work kicks the module's kernel thread. The suite proves
// that the three stages keep counting while the module is loaded, each at
// most as often as the one before it; that the period is honoured (no fire
// before it) and checked (out of range is refused, leaving nothing); that
// the thread is a child of kthreadd that ps lists as [kms_deferred], with
// the workqueue in sysfs, while loaded, and that both go with rmmod; and
// that rmmod of a busy module is prompt, returns only once the thread has
// returned, logs totals that add up, and leaves nothing firing after.
#include "guest_suite.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <regex>
#include <string>
#include <vector>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;
using namespace std::chrono_literals;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_deferred"}); });
}

const std::string counters_dir = "/sys/kernel/debug/kms_deferred";
const std::string workqueue_dir = "/sys/devices/virtual/workqueue/kms_deferred";

struct Counts {
    long fires = -1;
    long runs = -1;
    long wakeups = -1;
};

// The three counters. Read downstream first (thread, work, timer): a fire
// and its work that land between two reads then raise only the later
// read, so wakeups <= runs <= fires holds for what was read, as it does
// in the module at every instant.
Counts counts(Guest& g)
{
    auto read = g.run("cd " + counters_dir + " && cat thread_wakeups work_runs timer_fires");
    REQUIRE(read.status == 0);
    auto values = words(read.out);
    REQUIRE(values.size() == 3);
    return {std::stol(values[2]), std::stol(values[1]), std::stol(values[0])};
}

// The `ps` lines (busybox: PID USER COMMAND) whose command is [kms_deferred],
// as ps shows a kernel thread, which has no command line.
std::vector<std::string> thread_lines(Guest& g)
{
    auto ps = g.run("ps");
    REQUIRE(ps.status == 0);
    std::vector<std::string> found;
    for (const auto& line : lines_with(ps.out, "[kms_deferred]")) {
        auto fields = words(line);
        if (!fields.empty() && fields.back() == "[kms_deferred]")
            found.push_back(line);
    }
    return found;
}

// The pid in the load message: "thread kms_deferred (pid 83)".
std::string logged_pid(const std::string& log)
{
    std::smatch match;
    static const std::regex pid{R"(thread kms_deferred \(pid ([0-9]+)\))"};
    REQUIRE(std::regex_search(log, match, pid));
    return match[1];
}

}  // namespace

TEST_CASE("the timer fires, its work runs and the thread wakes, again and again, each at most as "
          "often as the stage before",
          "[deferred]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_deferred"};
    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_deferred").ok()); });
    CHECK_THAT(loaded, Contains("kms_deferred: timer every 100 ms, work on workqueue "
                                "kms_deferred, thread kms_deferred (pid "));
    CHECK(g.read("/sys/module/kms_deferred/parameters/period_ms") == "100\n");

    // Three rounds: each one waits, up to 5 s (TCG may be slow), until all
    // three counters have moved past what the round before read.
    auto before = counts(g);
    CHECK(before.wakeups <= before.runs);
    CHECK(before.runs <= before.fires);
    for (int round = 0; round < 3; ++round) {
        auto moved = g.run(fmt::format(
            "cd {}\n"
            "i=0\n"
            "until [ $(cat thread_wakeups) -gt {} ] && [ $(cat work_runs) -gt {} ] &&\n"
            "      [ $(cat timer_fires) -gt {} ]; do\n"
            "    [ $i -lt 100 ] || exit 1\n"
            "    sleep 0.05; i=$((i + 1))\n"
            "done\n",
            counters_dir, before.wakeups, before.runs, before.fires));
        INFO("round " << round << ": before " << before.fires << " fires, " << before.runs
                      << " runs, " << before.wakeups << " wakeups");
        REQUIRE(moved.status == 0);
        auto now = counts(g);
        CHECK(now.fires > before.fires);
        CHECK(now.runs > before.runs);
        CHECK(now.wakeups > before.wakeups);
        CHECK(now.wakeups <= now.runs);
        CHECK(now.runs <= now.fires);
        before = now;
    }

    REQUIRE(g.rmmod("kms_deferred").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("period_ms=5000 fires nothing before its first period; 0 and 60001 are refused and "
          "leave nothing behind",
          "[deferred]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_deferred"};
    REQUIRE(g.insmod("kms_deferred", "period_ms=5000").ok());
    CHECK(g.read("/sys/module/kms_deferred/parameters/period_ms") == "5000\n");
    // A timer never fires early, and this read comes well within 5 s.
    auto now = counts(g);
    CHECK(now.fires == 0);
    CHECK(now.runs == 0);
    CHECK(now.wakeups == 0);

    // timer_shutdown_sync() takes the timer while it is still pending.
    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.rmmod("kms_deferred").ok()); });
    CHECK_THAT(unloaded, Contains("kms_deferred: thread stopping after 0 wakeups"));
    CHECK_THAT(unloaded,
               Contains("kms_deferred: stopped: 0 timer fires, 0 work runs, 0 thread wakeups"));

    for (const char* period : {"0", "60001"}) {
        ModuleResult refused;
        auto log = kernel_log_during(
            g, [&] { refused = g.insmod("kms_deferred", std::string{"period_ms="} + period); });
        CHECK(refused.error == EINVAL);
        CHECK_THAT(log, Contains(fmt::format(
                            "kms_deferred: period_ms={} is out of range (1 to 60000)", period)));
    }
    // kmod's words for EINVAL from init.
    auto insmod = g.run("insmod kms_deferred.ko period_ms=0");
    CHECK(insmod.status == 1);
    CHECK_THAT(insmod.err, Contains("insmod: ERROR: could not insert module kms_deferred.ko: "
                                    "Invalid parameters"));
    // The range is checked before anything starts.
    CHECK_FALSE(is_loaded(g, "kms_deferred"));
    CHECK(thread_lines(g).empty());
    CHECK_FALSE(exists(g, counters_dir));
    CHECK_FALSE(exists(g, workqueue_dir));
    CHECK_HEALTHY(g);
}

TEST_CASE("ps lists the thread as [kms_deferred], a child of kthreadd, and sysfs the workqueue, "
          "while the module is loaded; rmmod removes both",
          "[deferred]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_deferred"};
    REQUIRE(thread_lines(g).empty());
    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_deferred").ok()); });
    auto pid = logged_pid(loaded);

    auto lines = thread_lines(g);
    REQUIRE(lines.size() == 1);
    auto fields = words(lines[0]);
    CHECK(fields.front() == pid);
    CHECK(g.read("/proc/" + pid + "/comm") == "kms_deferred\n");
    // Kernel threads have no command line, and kthreadd (pid 2) made it.
    CHECK(g.read("/proc/" + pid + "/cmdline").empty());
    CHECK_THAT(g.read("/proc/" + pid + "/status"), Contains("\nPPid:\t2\n"));

    // WQ_SYSFS; an unbound workqueue has these attributes.
    CHECK(exists(g, workqueue_dir + "/cpumask"));
    CHECK(exists(g, workqueue_dir + "/max_active"));
    // No WQ_MEM_RECLAIM, so no rescuer thread: the one [kms_deferred] is
    // the module's own thread.

    REQUIRE(g.rmmod("kms_deferred").ok());
    CHECK(thread_lines(g).empty());
    CHECK_FALSE(exists(g, "/proc/" + pid));
    CHECK_FALSE(exists(g, workqueue_dir));
    CHECK_FALSE(exists(g, counters_dir));
    CHECK_HEALTHY(g);
}

TEST_CASE("rmmod of a busy kms_deferred is prompt and waits for the thread; the totals add up "
          "and nothing fires after",
          "[deferred]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_deferred"};
    // Every 10 ms: work is often in flight when rmmod comes.
    REQUIRE(g.insmod("kms_deferred", "period_ms=10").ok());
    REQUIRE(g.run("i=0\n"
                  "while [ $(cat " + counters_dir + "/thread_wakeups) -lt 20 ]; do\n"
                  "    [ $i -lt 100 ] || exit 1\n"
                  "    sleep 0.05; i=$((i + 1))\n"
                  "done\n")
                .status == 0);

    ModuleResult removed;
    auto log = kernel_log_during(g, [&] { removed = g.rmmod("kms_deferred"); });
    REQUIRE(removed.ok());
    // A thread that slept through kthread_stop() would hang rmmod (and
    // the run would time out); a prompt one takes milliseconds.
    CHECK(removed.elapsed < 5s);

    // The thread returns inside kthread_stop(), before exit logs the
    // totals, which are then final.
    std::smatch match;
    static const std::regex stopping{R"(kms_deferred: thread stopping after ([0-9]+) wakeups)"};
    static const std::regex stopped{R"(kms_deferred: stopped: ([0-9]+) timer fires, ([0-9]+) )"
                                    R"(work runs, ([0-9]+) thread wakeups)"};
    REQUIRE(std::regex_search(log, match, stopping));
    auto thread_said = std::stol(match[1].str());
    auto stopping_at = match.position(0);
    REQUIRE(std::regex_search(log, match, stopped));
    CHECK(stopping_at < match.position(0));
    auto fires = std::stol(match[1].str());
    auto runs = std::stol(match[2].str());
    auto wakeups = std::stol(match[3].str());
    CHECK(thread_said == wakeups);
    CHECK(wakeups >= 20);
    CHECK(wakeups <= runs);
    CHECK(runs <= fires);

    // Fires after timer_shutdown_sync() would queue onto a freed workqueue
    // in freed module memory: an Oops, which the health check reports.
    auto after = kernel_log_during(g, [&] { REQUIRE(g.run("sleep 0.3").ok()); });
    CHECK_THAT(after, !Contains("kms_deferred"));
    CHECK_HEALTHY(g);
}
