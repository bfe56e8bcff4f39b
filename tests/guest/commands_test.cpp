// SPDX-License-Identifier: GPL-2.0
// Guest::run from C++: a Command is an argument vector exec'd exactly as
// given, with no shell in between, and Command::shell and from_words read
// words as `kmsdk run` does; the collecting run() keeps at most
// GuestOptions::output_cap of output and past it throws OutputTooLarge
// naming the cap, and the guest runs the next command as if nothing had
// happened; the streamed run() hands stdout and stderr to their sinks in
// order as they come, with no cap, and feeds the command's stdin.
#include "guest_suite.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t cap = 1 << 20;

Guest& guest()
{
    return suite_guest([] { return GuestOptions{}.output_cap(cap); });
}

// Where two texts first differ, for a readable failure.
std::string first_difference(const std::string& got, const std::string& expected)
{
    if (got == expected)
        return "identical";
    auto [at, _] = std::mismatch(got.begin(), got.end(), expected.begin(), expected.end());
    auto offset = static_cast<std::size_t>(at - got.begin());
    return fmt::format("{} bytes where {} were expected; first difference at byte {}: got '{}', "
                       "expected '{}'",
                       got.size(), expected.size(), offset, got.substr(offset, 20),
                       expected.substr(offset, 20));
}

}  // namespace

TEST_CASE("run(Command) execs its words as given: printf %s 'a b' prints a b, and $, quotes "
          "and ; are no shell's",
          "[commands]")
{
    auto& g = guest();
    auto spaced = g.run(Command{{"printf", "%s", "a b"}});
    CHECK(spaced.status == 0);
    CHECK(spaced.out == "a b");
    CHECK(spaced.err.empty());

    auto literal = g.run(Command{{"printf", "[%s]\\n", "$HOME", "'q'", "a;b", "*", ""}});
    CHECK(literal.status == 0);
    CHECK(literal.out == "[$HOME]\n['q']\n[a;b]\n[*]\n[]\n");

    // The status is the program's own.
    CHECK(g.run(Command{{"sh", "-c", "exit 7"}}).status == 7);
    // Command::shell(line) is `sh -c line`.
    CHECK(g.run(Command::shell("echo $((6*7))")).out == "42\n");
    // from_words, as `kmsdk run -- WORDS`: one word is a shell command
    // line, two or more an argument vector.
    CHECK(g.run(Command::from_words({"echo a; echo b"})).out == "a\nb\n");
    CHECK(g.run(Command::from_words({"echo", "a;", "echo", "b"})).out == "a; echo b\n");
    CHECK_HEALTHY(g);
}

TEST_CASE("the collecting run() throws OutputTooLarge naming the cap when a command writes more "
          "than output_cap, and the guest runs the next command",
          "[commands]")
{
    auto& g = guest();
    // Under the cap: every byte.
    auto under = g.run("head -c 1000000 /dev/zero");
    CHECK(under.status == 0);
    CHECK(under.out == std::string(1000000, '\0'));

    // 2 MiB, twice the cap.
    try {
        g.run("head -c 2097152 /dev/zero");
        FAIL("run() collected 2 MiB with a cap of 1 MiB");
    } catch (const OutputTooLarge& too_large) {
        std::string what = too_large.what();
        CHECK_THAT(what, Contains("head -c 2097152 /dev/zero"));
        CHECK_THAT(what, Contains("1 MiB"));
        CHECK_THAT(what, Contains("output_cap"));
    }
    CHECK(g.run("echo alive").out == "alive\n");

    // stdout and stderr count together: 1.2 MB between them is too much.
    CHECK_THROWS_AS(g.run("head -c 600000 /dev/zero; head -c 600000 /dev/zero >&2"),
                    OutputTooLarge);
    auto after = g.run(Command{{"uname", "-r"}});
    CHECK(after.status == 0);
    CHECK(after.out == g.release() + "\n");
    CHECK_HEALTHY(g);
}

TEST_CASE("the streamed run() hands stdout and stderr to their sinks in order as they come, "
          "with no cap, and feeds stdin",
          "[commands]")
{
    auto& g = guest();
    std::string out, err;
    Streams streams{.out = [&](std::string_view piece) { out.append(piece); },
                    .err = [&](std::string_view piece) { err.append(piece); },
                    .in = {},
                    .rows = 0,
                    .cols = 0};
    auto counted = g.run(
        Command::shell("i=1; while [ $i -le 3000 ]; do echo $i; echo e$i >&2; i=$((i + 1)); done"),
        streams, std::chrono::seconds(60));
    CHECK(counted.status == 0);
    CHECK(counted.out.empty());  // a streamed run's output went to the sinks
    std::string expected_out, expected_err;
    for (int i = 1; i <= 3000; ++i) {
        expected_out += fmt::format("{}\n", i);
        expected_err += fmt::format("e{}\n", i);
    }
    CHECK(first_difference(out, expected_out) == "identical");
    CHECK(first_difference(err, expected_err) == "identical");

    // Three times the collecting run's cap, streamed whole; stderr unset,
    // so discarded.
    std::size_t bytes = 0;
    std::size_t nonzero = 0;
    Streams big{.out =
                    [&](std::string_view piece) {
                        bytes += piece.size();
                        nonzero += static_cast<std::size_t>(std::count_if(
                            piece.begin(), piece.end(), [](char c) { return c != 0; }));
                    },
                .err = {},
                .in = {},
                .rows = 0,
                .cols = 0};
    auto large = g.run(Command{{"sh", "-c", "head -c 3145728 /dev/zero; echo gone >&2"}}, big,
                       std::chrono::seconds(60));
    CHECK(large.status == 0);
    CHECK(bytes == 3145728);
    CHECK(nonzero == 0);

    // A piece reaches its sink when the command writes it, not at its end.
    std::optional<Clock::time_point> first_piece;
    Streams live{.out = [&](std::string_view) { first_piece = first_piece.value_or(Clock::now()); },
                 .err = {},
                 .in = {},
                 .rows = 0,
                 .cols = 0};
    g.run(Command::shell("echo a; sleep 2; echo b"), live, std::chrono::seconds(30));
    auto ended = Clock::now();
    REQUIRE(first_piece);
    CHECK(ended - *first_piece >= std::chrono::milliseconds(1500));

    // stdin: these bytes, then its end.
    std::string echoed;
    Streams input{.out = [&](std::string_view piece) { echoed.append(piece); },
                  .err = {},
                  .in = InputSource::bytes("hello\nworld\n"),
                  .rows = 0,
                  .cols = 0};
    auto cat = g.run(Command{{"cat"}}, input, std::chrono::seconds(30));
    CHECK(cat.status == 0);
    CHECK(echoed == "hello\nworld\n");
    CHECK_HEALTHY(g);
}
