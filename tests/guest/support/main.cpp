// SPDX-License-Identifier: GPL-2.0
// Every guest suite's main: Catch2's, and then skip_exit_code when some
// case called skip() and none failed (guest_suite.hpp), so that ctest
// reports the suite as skipped instead of passed. With KMSDK_JUNIT_DIR set,
// a listener writes the suite's JUnit report there too, the console output
// unchanged (junit_listener.hpp).
#define CATCH_CONFIG_RUNNER
#include "guest_suite.hpp"
#include "junit_listener.hpp"

#include <cstdio>

// The macro pastes its argument into a name: no qualified name.
using kmsdk::test::JunitListener;
CATCH_REGISTER_LISTENER(JunitListener)

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
