// SPDX-License-Identifier: GPL-2.0
// kms_chardev in a real kernel.
#include "guest_suite.hpp"

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_chardev"}); });
}

}  // namespace

TEST_CASE("kms_chardev loads and unloads", "[chardev]")
{
    auto& g = guest();
    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_chardev").ok()); });
    CHECK_THAT(loaded, Contains("kms_chardev: loaded"));
    REQUIRE(g.rmmod("kms_chardev").ok());
    CHECK_HEALTHY(g);
}
