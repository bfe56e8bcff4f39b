// SPDX-License-Identifier: GPL-2.0
// kms_unwind in a real kernel: a module_init that takes four things a user
// can see (a buffer, /sys/kernel/kms_unwind, /proc/kms_unwind, a kernel
// thread) and unwinds by hand. Loaded, it shows all four, and rmmod gives
// them back from the last. With fail_at=N, step N fails: insmod fails with
// the errno of that step (kmod's insmod in its own words), dmesg shows the
// steps before it undone in reverse order, and nothing is left: no sysfs
// folder, no proc entry, no thread, no module, and a plain load works
// again. Step 1 fails for real (kmalloc() of more than it can ever give);
// step 4's failure comes as an error pointer, whose value dmesg shows in
// the last page of the address space, and PTR_ERR() brings the errno to
// insmod. A fail_at past the last step is refused with EINVAL.
#include "guest_suite.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_unwind"}); });
}

const std::string prefix = "kms_unwind: ";

// What kms_unwind itself logged, without the timestamps, and without the
// kernel's taint notices about it (logged once per boot only).
std::vector<std::string> own_lines(const std::string& log)
{
    std::vector<std::string> lines;
    for (const auto& line : lines_with(log, prefix)) {
        auto text = line.substr(line.find(prefix) + prefix.size());
        if (text.find("taint") == std::string::npos)
            lines.push_back(text);
    }
    return lines;
}

// How many processes are named kms_unwind: its kernel thread.
int threads_named_kms_unwind(Guest& g)
{
    auto count = g.run("cat /proc/[0-9]*/comm 2>/dev/null | grep -cx kms_unwind");
    return std::stoi(trimmed(count.out));
}

// Nothing of the module is left: what init takes and the module itself.
void check_nothing_left(Guest& g)
{
    CHECK_FALSE(is_loaded(g, "kms_unwind"));
    CHECK_FALSE(exists(g, "/sys/module/kms_unwind"));
    CHECK_FALSE(exists(g, "/sys/kernel/kms_unwind"));
    CHECK_FALSE(exists(g, "/proc/kms_unwind"));
    CHECK(threads_named_kms_unwind(g) == 0);
}

const std::vector<std::string> undo_lines = {
    "undo 4: the thread kms_unwind is gone",
    "undo 3: /proc/kms_unwind is gone",
    "undo 2: /sys/kernel/kms_unwind is gone",
    "undo 1: the buffer is gone",
};

// The undo lines of the steps before `step`, last step first.
std::vector<std::string> undone_before(int step)
{
    return {undo_lines.end() - (step - 1), undo_lines.end()};
}

const char* const what[] = {"", "the buffer", "/sys/kernel/kms_unwind", "/proc/kms_unwind",
                            "the thread kms_unwind"};

// insmod with fail_at=step fails with `error`, in kmod's words `words`,
// having logged `expected`; nothing is left; and a plain load works
// again, which a leftover kset or proc entry would have made fail.
void check_failed_step(Guest& g, int step, int error, const std::string& words,
                       const std::vector<std::string>& expected)
{
    UnloadAtEnd unload{g, "kms_unwind"};
    CommandResult insmod;
    auto log = kernel_log_during(
        g, [&] { insmod = g.run(fmt::format("insmod kms_unwind.ko fail_at={}", step)); });
    CHECK(insmod.status == 1);
    CHECK(insmod.err == "insmod: ERROR: could not insert module kms_unwind.ko: " + words + "\n");
    CHECK(own_lines(log) == expected);
    check_nothing_left(g);

    // The agent's finit_module() sees the errno itself.
    auto loaded = g.insmod("kms_unwind", fmt::format("fail_at={}", step));
    CHECK(loaded.error == error);
    check_nothing_left(g);

    REQUIRE(g.insmod("kms_unwind").ok());
    REQUIRE(g.rmmod("kms_unwind").ok());
    CHECK_HEALTHY(g);
}

std::vector<std::string> failure_lines(int step, const std::string& errname)
{
    return {fmt::format("fail_at={0}: step {0} ({1}) will fail", step, what[step]),
            fmt::format("step {} ({}) failed: {}", step, what[step], errname)};
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace

TEST_CASE("loaded, kms_unwind holds four things a user can see; rmmod gives them back from the "
          "last",
          "[unwind]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_unwind"};
    check_nothing_left(g);
    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_unwind").ok()); });
    auto lines = own_lines(loaded);
    REQUIRE(lines.size() == 1);
    const std::string holding = "holding the buffer, /sys/kernel/kms_unwind, /proc/kms_unwind "
                                "and the thread kms_unwind (pid ";
    REQUIRE(lines[0].rfind(holding, 0) == 0);
    auto pid = lines[0].substr(holding.size(), lines[0].size() - holding.size() - 1);

    CHECK(g.read("/sys/module/kms_unwind/parameters/fail_at") == "0\n");
    CHECK(g.run("test -d /sys/kernel/kms_unwind").ok());
    // Step 3's file reads step 1's buffer.
    CHECK(g.read("/proc/kms_unwind") == "the buffer of step 1, read through step 3\n");
    // A kernel thread: its parent is kthreadd (pid 2), and it sleeps.
    CHECK(g.read("/proc/" + pid + "/comm") == "kms_unwind\n");
    auto status = g.read("/proc/" + pid + "/status");
    CHECK_THAT(status, Contains("PPid:\t2\n"));
    CHECK_THAT(status, Contains("State:\tS (sleeping)\n"));
    CHECK(threads_named_kms_unwind(g) == 1);

    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.rmmod("kms_unwind").ok()); });
    CHECK(own_lines(unloaded) == undo_lines);
    check_nothing_left(g);
    CHECK_HEALTHY(g);
}

TEST_CASE("fail_at=1: kmalloc() cannot give what step 1 asks, and there is nothing to undo",
          "[unwind]")
{
    // More than KMALLOC_MAX_SIZE, with __GFP_NOWARN: NULL, and no warning.
    check_failed_step(guest(), 1, ENOMEM, "Cannot allocate memory", failure_lines(1, "-ENOMEM"));
}

TEST_CASE("fail_at=2: the kset fails, and init frees the buffer", "[unwind]")
{
    check_failed_step(guest(), 2, ENOMEM, "Cannot allocate memory",
                      concat(failure_lines(2, "-ENOMEM"), undone_before(2)));
}

TEST_CASE("fail_at=3: the proc entry fails, and init removes the kset, then frees the buffer",
          "[unwind]")
{
    check_failed_step(guest(), 3, ENOMEM, "Cannot allocate memory",
                      concat(failure_lines(3, "-ENOMEM"), undone_before(3)));
}

TEST_CASE("fail_at=4: kthread_run()'s error pointer lies in the last page, and PTR_ERR() "
          "brings EINTR to insmod after three undos",
          "[unwind]")
{
    // ERR_PTR(-EINTR), printed as an unsigned long: 2^64 - 4.
    auto value = static_cast<std::uint64_t>(-static_cast<std::int64_t>(EINTR));
    CHECK(value == 0xfffffffffffffffcull);
    // IS_ERR(): at or above -MAX_ERRNO (-4095), the last 4095 addresses.
    CHECK(value >= static_cast<std::uint64_t>(-4095));
    auto expected = failure_lines(4, "-EINTR");
    expected.insert(expected.begin() + 1, fmt::format("kthread_run() returned {:x}", value));
    check_failed_step(guest(), 4, EINTR, "Interrupted system call",
                      concat(expected, undone_before(4)));
}

TEST_CASE("fail_at past the last step is refused with EINVAL before anything is taken",
          "[unwind]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_unwind"};
    CommandResult insmod;
    auto log = kernel_log_during(g, [&] { insmod = g.run("insmod kms_unwind.ko fail_at=5"); });
    CHECK(insmod.status == 1);
    // kmod's own words for EINVAL.
    CHECK(insmod.err ==
          "insmod: ERROR: could not insert module kms_unwind.ko: Invalid parameters\n");
    CHECK(own_lines(log) == std::vector<std::string>{"fail_at=5: there are only 4 steps"});
    check_nothing_left(g);
    CHECK_HEALTHY(g);
}
