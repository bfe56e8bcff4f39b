// SPDX-License-Identifier: GPL-2.0
// Each kernel of the matrix is what its name claims, seen from inside the
// guest: the release uname -r reports, and for the PREEMPT_RT flavour
// (6.12-rt) the kernel's own two marks of a real-time kernel, the
// PREEMPT_RT in its version string and /sys/kernel/realtime. A generic or
// cloud kernel carries neither.
#include "guest_suite.hpp"

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_hello"}); });
}

bool is_realtime_flavour()
{
    return flavour_of(test_kernel().release()) == "rt-amd64";
}

}  // namespace

TEST_CASE("the guest runs the kernel the test asked for", "[flavour]")
{
    auto& g = guest();
    CHECK(g.run("uname -r").out == test_kernel().release() + "\n");
    CHECK(g.release() == test_kernel().release());
    // Debian stamps its package version into the version string.
    CHECK_THAT(g.run("uname -v").out, Contains("Debian"));
}

TEST_CASE("a PREEMPT_RT kernel says so in uname -v and /sys/kernel/realtime; others do not",
          "[flavour]")
{
    auto& g = guest();
    auto version = g.run("uname -v").out;
    INFO("uname -v: " << version << "flavour: " << flavour_of(test_kernel().release()));
    auto realtime = g.run("cat /sys/kernel/realtime");
    if (is_realtime_flavour()) {
        CHECK(test_kernel().config_value("PREEMPT_RT") == "y");
        CHECK_THAT(version, Contains("PREEMPT_RT"));
        REQUIRE(realtime.status == 0);
        CHECK(realtime.out == "1\n");
    } else {
        CHECK(test_kernel().config_value("PREEMPT_RT").empty());
        CHECK_THAT(version, !Contains("PREEMPT_RT"));
        // The file exists only in a kernel built with CONFIG_PREEMPT_RT.
        CHECK(realtime.status != 0);
        CHECK_THAT(realtime.err, Contains("No such file or directory"));
    }
}

TEST_CASE("a module built for this flavour loads on it", "[flavour]")
{
    auto& g = guest();
    auto vermagic = g.run("modinfo -F vermagic kms_hello.ko");
    REQUIRE(vermagic.status == 0);
    CHECK_THAT(vermagic.out, Contains(test_kernel().release() + " SMP"));
    auto log = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_hello").ok()); });
    CHECK_THAT(log, Contains("kms_hello: hello, world"));
    REQUIRE(g.rmmod("kms_hello").ok());
    CHECK_HEALTHY(g);
}
