// SPDX-License-Identifier: GPL-2.0
// kms_debugfs in a real kernel.
#include "guest_suite.hpp"

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_debugfs"}); });
}

}  // namespace

TEST_CASE("kms_debugfs loads and unloads", "[debugfs]")
{
    auto& g = guest();
    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_debugfs").ok()); });
    CHECK_THAT(loaded, Contains("kms_debugfs: loaded"));
    REQUIRE(g.rmmod("kms_debugfs").ok());
    CHECK_HEALTHY(g);
}
