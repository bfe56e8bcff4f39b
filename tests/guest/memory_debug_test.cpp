// SPDX-License-Identifier: GPL-2.0
// Memory errors on the distribution kernels (GuestOptions::debug_memory,
// kmsdk run --debug-memory): the parameters follow the kernel's config, a
// use-after-free loads silently without them, and with them a
// use-after-free, a write past a kmalloc'd buffer and a double free are
// each reported as a problem naming the module's function, after which
// the guest boots again, healthy. A report repeated once per iteration of
// a loop is quoted once, with its count.
//
// The words differ by kernel and by detector: SLUB says "Poison
// overwritten", "Right Redzone overwritten" or "Object already free" (6.12
// "Object corrupt" for the first two), KFENCE "use-after-free",
// "out-of-bounds", "memory corruption" or "invalid free". Each case takes
// any of its detector's words, and always the function's name.
#include "guest_suite.hpp"
#include "kmsdk_cli.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>
#include <string>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] {
        return with_built_modules({"kms_fault_uaf", "kms_fault_oob", "kms_fault_double_free"})
            .debug_memory();
    });
}

bool mentions_any(const std::string& text, std::initializer_list<const char*> words)
{
    return std::any_of(words.begin(), words.end(),
                       [&](const char* word) { return text.find(word) != std::string::npos; });
}

// What check_healthy() says after `command`; "" when it did not throw.
std::string unhealthy_after(Guest& g, const std::string& command)
{
    auto run = g.run(command);
    INFO(command << ": " << run.out << run.err);
    CHECK(run.status == 0);
    try {
        g.check_healthy();
    } catch (const GuestUnhealthy& unhealthy) {
        return unhealthy.what();
    }
    return {};
}

// The guest after a report: booted again, and healthy.
void check_healthy_again(Guest& g)
{
    CHECK(g.run("echo alive").out == "alive\n");
    CHECK_HEALTHY(g);
    CHECK(g.read("/proc/sys/kernel/tainted") == "0\n");
}

// `insmod module` makes the health check fail with a report in one of
// `words` that names `function`; then the guest is healthy again.
void check_reported(const std::string& module, std::initializer_list<const char*> words,
                    const std::string& function)
{
    auto& g = guest();
    auto report = unhealthy_after(g, fmt::format("insmod {}.ko", module));
    INFO(report);
    CHECK(mentions_any(report, words));
    CHECK_THAT(report, Contains(function));
    check_healthy_again(g);
}

}  // namespace

TEST_CASE("--debug-memory turns on the detectors the kernel has, and the kernel knows each",
          "[memory_debug]")
{
    auto& g = guest();
    const auto& on = g.memory_debugging();
    const auto& kernel = test_kernel();
    auto has = [&](const char* parameter) { return std::count(on.begin(), on.end(), parameter) == 1; };
    CHECK(has("slub_debug=FZPU") == kernel.config_enabled("CONFIG_SLUB_DEBUG"));
    CHECK(has("kfence.sample_interval=1") == kernel.config_enabled("CONFIG_KFENCE"));
    CHECK(has("page_poison=1") == kernel.config_enabled("CONFIG_PAGE_POISONING"));
    CHECK(has("init_on_free=1"));
    auto cmdline = g.read("/proc/cmdline");
    for (const auto& parameter : on)
        CHECK_THAT(cmdline, Contains(parameter));
    CHECK_FALSE(g.dmesg().find("Unknown kernel command line parameters") != std::string::npos);
    CHECK(g.read("/sys/kernel/slab/kmalloc-64/poison") == "1\n");
    CHECK_HEALTHY(g);
}

TEST_CASE("without --debug-memory, a write into freed memory goes unnoticed", "[memory_debug]")
{
    Guest plain{with_built_modules({"kms_fault_uaf"}).kernel(test_kernel().release())};
    CHECK(plain.memory_debugging().empty());
    REQUIRE(plain.insmod("kms_fault_uaf").ok());
    CHECK_THAT(plain.dmesg(), Contains("kms_fault_uaf: wrote into freed memory 1 times"));
    CHECK_NOTHROW(plain.check_healthy());
}

TEST_CASE("a use-after-free is reported, naming the module's function", "[memory_debug]")
{
    check_reported("kms_fault_uaf", {"Poison overwritten", "Object corrupt", "KFENCE: use-after-free"},
                   "kms_fault_uaf_write");
}

TEST_CASE("a write past a kmalloc'd buffer is reported, naming the module's function",
          "[memory_debug]")
{
    check_reported("kms_fault_oob",
                   {"Redzone overwritten", "Object corrupt", "KFENCE: out-of-bounds",
                    "KFENCE: memory corruption"},
                   "kms_fault_oob_write");
}

TEST_CASE("a double free is reported, naming the module's function", "[memory_debug]")
{
    check_reported("kms_fault_double_free", {"Object already free", "KFENCE: invalid free"},
                   "kms_fault_double_free_twice");
}

TEST_CASE("a report repeated in a loop of 200 is quoted once, with its count", "[memory_debug]")
{
    auto& g = guest();
    auto report = unhealthy_after(g, "insmod kms_fault_uaf.ko repeat=200");
    INFO(report);
    CHECK_THAT(report, Contains("times; the first is quoted)"));
    // Each headline once: no line of the report repeats a headline.
    std::vector<std::string> headlines = lines_with(report, "] BUG");
    auto sorted = headlines;
    std::sort(sorted.begin(), sorted.end());
    CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
    CHECK(std::count(report.begin(), report.end(), '\n') < 200);
    check_healthy_again(g);
}

// kmsdk run -k K --debug-memory -m kms_fault_uaf.ko -- insmod kms_fault_uaf.ko
TEST_CASE("kmsdk run --debug-memory says what it turned on, and exits 250 on a use-after-free",
          "[memory_debug]")
{
    auto r = run_kmsdk({"run", "--kernel", test_kernel().release(), "--debug-memory", "-m",
                        built_module("kms_fault_uaf").string(), "--", "insmod kms_fault_uaf.ko"});
    INFO(describe(r));
    CHECK(r.status == 250);
    CHECK_THAT(r.err, Contains("kmsdk: memory debugging on: ") && Contains("init_on_free=1"));
    CHECK_THAT(r.err, Contains("kmsdk: the kernel reported problems:") &&
                          Contains("kms_fault_uaf_write"));
}
