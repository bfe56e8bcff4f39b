// SPDX-License-Identifier: GPL-2.0
// kms_hello in a real kernel: what insmod, lsmod, /proc/modules, rmmod and
// modinfo show, and what a module whose init fails leaves behind.
#include "guest_suite.hpp"

#include <cerrno>
#include <iterator>
#include <sstream>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_hello", "kms_fault_initfail"}); });
}

}  // namespace

TEST_CASE("insmod runs init, lsmod and /proc/modules list it, rmmod runs exit", "[hello]")
{
    auto& g = guest();
    auto loaded = kernel_log_during(g, [&] {
        auto insmod = g.run("insmod kms_hello.ko");
        REQUIRE(insmod.status == 0);
    });
    CHECK_THAT(loaded, Contains("kms_hello: hello, world"));

    // Module  Size  Used by: nobody uses it yet.
    auto lsmod = words(line_of(g.run("lsmod").out, "kms_hello"));
    REQUIRE(lsmod.size() >= 3);
    CHECK(lsmod[2] == "0");

    // name size refcount deps state address taints
    auto proc = words(line_of(g.read("/proc/modules"), "kms_hello"));
    REQUIRE(proc.size() >= 5);
    CHECK(proc[2] == "0");
    CHECK(proc[4] == "Live");

    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.run("rmmod kms_hello").status == 0); });
    CHECK_THAT(unloaded, Contains("kms_hello: goodbye, world"));
    CHECK(line_of(g.read("/proc/modules"), "kms_hello").empty());
    CHECK_HEALTHY(g);
}

TEST_CASE("a parameter given to insmod reaches init and sysfs", "[hello]")
{
    auto& g = guest();
    auto log = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_hello", "whom=students").ok()); });
    CHECK_THAT(log, Contains("hello, students"));
    CHECK(g.read("/sys/module/kms_hello/parameters/whom") == "students\n");
    REQUIRE(g.rmmod("kms_hello").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("a second insmod of a loaded module fails with File exists", "[hello]")
{
    auto& g = guest();
    REQUIRE(g.run("insmod kms_hello.ko").status == 0);
    auto again = g.run("insmod kms_hello.ko");
    CHECK(again.status != 0);
    CHECK_THAT(again.err, Contains("File exists"));

    auto helper = g.insmod("kms_hello");
    CHECK(helper.error == EEXIST);
    CHECK_THAT(helper.message, Contains("File exists"));
    REQUIRE(g.rmmod("kms_hello").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("modinfo shows vermagic, license and description", "[hello]")
{
    auto& g = guest();
    auto modinfo = g.run("modinfo kms_hello.ko");
    REQUIRE(modinfo.status == 0);
    CHECK_THAT(modinfo.out, Contains("vermagic:") && Contains(g.release() + " SMP"));
    CHECK_THAT(modinfo.out, Contains("license:") && Contains("GPL"));
    CHECK_THAT(modinfo.out, Contains("description:") && Contains("Hello world"));
    CHECK_THAT(g.run("modinfo -p kms_hello.ko").out, Contains("whom"));
}

TEST_CASE("an init that fails makes insmod fail with its errno, and nothing stays loaded",
          "[hello]")
{
    auto& g = guest();
    auto log = kernel_log_during(g, [&] {
        auto result = g.insmod("kms_fault_initfail");
        CHECK(result.error == ENODEV);
        CHECK_THAT(result.message, Contains("No such device"));
    });
    CHECK_THAT(log, Contains("kms_fault_initfail"));
    auto shell = g.run("insmod kms_fault_initfail.ko");
    CHECK(shell.status != 0);
    CHECK_THAT(shell.err, Contains("No such device"));
    auto loaded = g.loaded_modules();
    CHECK(std::find(loaded.begin(), loaded.end(), "kms_fault_initfail") == loaded.end());
    CHECK_HEALTHY(g);
}
