// SPDX-License-Identifier: GPL-2.0
// kms_procfs in a real kernel.
#include "guest_suite.hpp"

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_procfs"}); });
}

}  // namespace

TEST_CASE("kms_procfs loads and unloads", "[procfs]")
{
    auto& g = guest();
    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_procfs").ok()); });
    CHECK_THAT(loaded, Contains("kms_procfs: loaded"));
    REQUIRE(g.rmmod("kms_procfs").ok());
    CHECK_HEALTHY(g);
}
