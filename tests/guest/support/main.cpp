// SPDX-License-Identifier: GPL-2.0
// Every guest suite's main: Catch2's, and then skip_exit_code when some
// case called skip() and none failed (guest_suite.hpp), so that ctest
// reports the suite as skipped instead of passed.
#define CATCH_CONFIG_RUNNER
#include "guest_suite.hpp"

#include <cstdio>

int main(int argc, char* argv[])
{
    int failed = Catch::Session().run(argc, argv);
    const auto& skipped = kmsdk::test::skipped_cases();
    if (failed != 0 || skipped.empty())
        return failed;
    std::printf("%zu test case%s skipped:\n", skipped.size(), skipped.size() == 1 ? "" : "s");
    for (const auto& entry : skipped)
        std::printf("  %s\n", entry.c_str());
    return kmsdk::test::skip_exit_code;
}
