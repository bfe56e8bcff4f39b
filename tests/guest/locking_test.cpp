// SPDX-License-Identifier: GPL-2.0
// kms_locking in a real kernel.
#include "guest_suite.hpp"

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_locking"}); });
}

}  // namespace

TEST_CASE("kms_locking loads and unloads", "[locking]")
{
    auto& g = guest();
    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_locking").ok()); });
    CHECK_THAT(loaded, Contains("kms_locking: loaded"));
    REQUIRE(g.rmmod("kms_locking").ok());
    CHECK_HEALTHY(g);
}
