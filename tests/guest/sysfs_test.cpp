// SPDX-License-Identifier: GPL-2.0
// kms_sysfs in a real kernel.
#include "guest_suite.hpp"

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_sysfs"}); });
}

}  // namespace

TEST_CASE("kms_sysfs loads and unloads", "[sysfs]")
{
    auto& g = guest();
    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_sysfs").ok()); });
    CHECK_THAT(loaded, Contains("kms_sysfs: loaded"));
    REQUIRE(g.rmmod("kms_sysfs").ok());
    CHECK_HEALTHY(g);
}
