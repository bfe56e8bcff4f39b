// SPDX-License-Identifier: GPL-2.0
// Choosing a lock, in a real kernel: four guest processes write to
// /proc/kms_locking at once, on a guest of two CPUs (two host threads
// under TCG), so that two of them really run at the same instant; each of their 2000 writes counts once
// under a mutex, once under a spinlock that an hrtimer handler shares, and
// once in an atomic64_t. The suite proves that none of the three loses an
// update (each reads exactly 2000, and the spinlock's pending and drained
// add up to its writes), that the handler really runs meanwhile, in hard
// interrupt context (a softirq thread on PREEMPT_RT, where spinlock_t
// sleeps), and drains what the writers queued; that the mutex-held message
// is copied, trimmed and truncated as the README says; that rmmod cancels
// the handler, removes the file and logs the totals; and that Debian's
// kernels have no lockdep to catch a wrong choice. The deliberately
// unlocked counter is only checked never to gain: it loses updates in most
// runs (README), but a test cannot count on a race.
#include "guest_suite.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <map>
#include <set>
#include <string>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;
using namespace std::chrono_literals;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_locking"}).cpus(2); });
}

const std::string proc_file = "/proc/kms_locking";

// /proc/kms_locking's "name value" lines, by name.
std::map<std::string, std::string> state(Guest& g)
{
    std::map<std::string, std::string> values;
    for (const auto& line : lines_with(g.read(proc_file), " ")) {
        auto space = line.find(' ');
        values[line.substr(0, space)] = line.substr(space + 1);
    }
    return values;
}

long number(std::map<std::string, std::string>& values, const std::string& name)
{
    INFO(name);
    REQUIRE(values.count(name) == 1);
    return std::stol(values[name]);
}

// `writers` background processes, each writing its name (w1, w2, ...)
// `writes` times through one open file, all at once; fails unless every
// one of them wrote every time.
std::string hammer_script(int writers, int writes)
{
    return fmt::format("pids=\n"
                       "for i in $(seq {0}); do\n"
                       "    (j=0; while [ $j -lt {1} ]; do echo w$i || exit 1; j=$((j + 1)); done)"
                       " > {2} &\n"
                       "    pids=\"$pids $!\"\n"
                       "done\n"
                       "status=0\n"
                       "for p in $pids; do wait $p || status=1; done\n"
                       "exit $status\n",
                       writers, writes, proc_file);
}

// Waits, up to 5 s, until the handler has drained every write.
void wait_until_drained(Guest& g)
{
    REQUIRE(g.run("i=0\n"
                  "until grep -qx 'spin_pending 0' " + proc_file + "; do\n"
                  "    [ $i -lt 100 ] || exit 1\n"
                  "    sleep 0.05; i=$((i + 1))\n"
                  "done\n")
                .status == 0);
}

}  // namespace

TEST_CASE("four writers at once lose no update under the mutex, the spinlock or the atomic",
          "[locking]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_locking"};
    REQUIRE(g.insmod("kms_locking").ok());
    auto start = state(g);
    CHECK(number(start, "mutex_writes") == 0);
    CHECK(number(start, "spin_writes") == 0);
    CHECK(number(start, "atomic_writes") == 0);
    CHECK(number(start, "unlocked_writes") == 0);
    CHECK(start["last"].empty());

    constexpr int writers = 4;
    constexpr int writes = 500;
    constexpr long total = long{writers} * writes;
    REQUIRE(trimmed(g.run("nproc").out) == "2");
    auto hammer = g.run(hammer_script(writers, writes), 60s);
    REQUIRE(hammer.status == 0);
    CHECK(hammer.err.empty());

    auto end = state(g);
    CHECK(number(end, "mutex_writes") == total);
    CHECK(number(end, "spin_writes") == total);
    CHECK(number(end, "atomic_writes") == total);
    // The spinlock keeps the three numbers together, against the handler.
    CHECK(number(end, "spin_pending") + number(end, "spin_drained") == total);
    // The last writer's name, whole: copied under the mutex.
    const std::set<std::string> names{"w1", "w2", "w3", "w4"};
    CHECK(names.count(end["last"]) == 1);
    // Racy by design: it may lose updates, and can never gain one.
    auto unlocked = number(end, "unlocked_writes");
    CHECK(unlocked > 0);
    CHECK(unlocked <= total);

    REQUIRE(g.rmmod("kms_locking").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("the hrtimer handler runs in hard interrupt context (a softirq thread on PREEMPT_RT) "
          "and drains what process context queued",
          "[locking]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_locking"};
    REQUIRE(g.insmod("kms_locking", "tick_ms=5").ok());
    CHECK(g.read("/sys/module/kms_locking/parameters/tick_ms") == "5\n");

    // It ticks with no writer at all.
    auto first = state(g);
    REQUIRE(g.run("sleep 0.2").ok());
    auto later = state(g);
    CHECK(number(later, "ticks") > number(first, "ticks"));
    // HRTIMER_MODE_REL: hard irq, except on PREEMPT_RT, which moves every
    // hrtimer not marked _HARD to the softirq, run by a thread there.
    const bool rt = test_kernel().config_enabled("PREEMPT_RT");
    CHECK(later["tick_context"] == (rt ? "softirq" : "hardirq"));

    REQUIRE(g.run(hammer_script(2, 50), 30s).status == 0);
    wait_until_drained(g);
    auto drained = state(g);
    CHECK(number(drained, "spin_writes") == 100);
    CHECK(number(drained, "spin_pending") == 0);
    CHECK(number(drained, "spin_drained") == 100);

    REQUIRE(g.rmmod("kms_locking").ok());

    for (const char* tick : {"0", "1001"}) {
        ModuleResult refused;
        auto log = kernel_log_during(
            g, [&] { refused = g.insmod("kms_locking", std::string{"tick_ms="} + tick); });
        CHECK(refused.error == EINVAL);
        CHECK_THAT(log, Contains(fmt::format(
                            "kms_locking: tick_ms={} is out of range (1 to 1000)", tick)));
    }
    // Checked before the handler starts or the file appears.
    CHECK_FALSE(is_loaded(g, "kms_locking"));
    CHECK_FALSE(exists(g, proc_file));
    CHECK_HEALTHY(g);
}

TEST_CASE("a write's message is kept without its newline, cut at 31 bytes, and the whole write "
          "is accepted",
          "[locking]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_locking"};
    REQUIRE(g.insmod("kms_locking").ok());

    REQUIRE(g.run("echo hello > " + proc_file).ok());
    CHECK(state(g)["last"] == "hello");
    // 40 bytes, no newline, in one write(2): busybox dd counts a record
    // written whole as 1+0, one the file took in part as 0+1.
    auto dd = g.run("printf %s 0123456789012345678901234567890123456789 | dd of=" + proc_file +
                    " bs=40 count=1");
    REQUIRE(dd.status == 0);
    CHECK(dd.err == "1+0 records in\n1+0 records out\n");
    auto values = state(g);
    CHECK(values["last"] == "0123456789012345678901234567890");
    CHECK(number(values, "mutex_writes") == 2);
    CHECK(number(values, "atomic_writes") == 2);

    REQUIRE(g.rmmod("kms_locking").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("rmmod removes /proc/kms_locking, cancels the handler and logs the totals", "[locking]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_locking"};
    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_locking").ok()); });
    CHECK_THAT(loaded, Contains("kms_locking: /proc/kms_locking ready, interrupt handler every "
                                "10 ms"));
    REQUIRE(g.run("for i in 1 2 3; do echo $i > " + proc_file + "; done").ok());
    wait_until_drained(g);

    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.rmmod("kms_locking").ok()); });
    CHECK_THAT(unloaded, Contains("kms_locking: removed; writes: mutex 3, spinlock 3, atomic 3, "
                                  "unlocked 3; "));
    CHECK_THAT(unloaded, Contains(" ticks"));
    auto cat = g.run("cat " + proc_file);
    CHECK(cat.status == 1);
    CHECK(cat.err == "cat: can't open '/proc/kms_locking': No such file or directory\n");
    // A handler left running would now run freed code: an Oops.
    REQUIRE(g.run("sleep 0.2").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("Debian's kernels have no lockdep to catch a wrong lock, nor might_sleep() checks",
          "[locking]")
{
    auto& g = guest();
    CHECK_FALSE(test_kernel().config_enabled("PROVE_LOCKING"));
    CHECK_FALSE(test_kernel().config_enabled("DEBUG_ATOMIC_SLEEP"));
    // /proc/lockdep exists only in a kernel built with CONFIG_LOCKDEP.
    CHECK_FALSE(exists(g, "/proc/lockdep"));
    CHECK_HEALTHY(g);
}
