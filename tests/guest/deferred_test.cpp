// SPDX-License-Identifier: GPL-2.0
// kms_deferred in a real kernel.
#include "guest_suite.hpp"

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_deferred"}); });
}

}  // namespace

TEST_CASE("kms_deferred loads and unloads", "[deferred]")
{
    auto& g = guest();
    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_deferred").ok()); });
    CHECK_THAT(loaded, Contains("kms_deferred: loaded"));
    REQUIRE(g.rmmod("kms_deferred").ok());
    CHECK_HEALTHY(g);
}
