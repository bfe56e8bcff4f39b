// SPDX-License-Identifier: GPL-2.0
// kms_unwind in a real kernel.
#include "guest_suite.hpp"

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_unwind"}); });
}

}  // namespace

TEST_CASE("kms_unwind loads and unloads", "[unwind]")
{
    auto& g = guest();
    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_unwind").ok()); });
    CHECK_THAT(loaded, Contains("kms_unwind: loaded"));
    REQUIRE(g.rmmod("kms_unwind").ok());
    CHECK_HEALTHY(g);
}
