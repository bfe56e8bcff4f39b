// SPDX-License-Identifier: GPL-2.0
// `kmsdk run` behaves like a Unix command. Each case types a command as a
// user would (the comment above it shows the line) and checks one point:
// kmsdk exits with the command's status; the words after -- reach the
// guest as the argument vector the shell made of them, and one word is a
// shell command line; a repeatable option right before -- takes one value,
// and options go in any order; output arrives as it is written, and 100 MB
// of it arrive whole; stdin is forwarded, text or binary, and one that
// never ends does not hold kmsdk up; SIGTERM, SIGINT and SIGHUP reach the
// command and kmsdk exits 128 + N, a command that ignores the signal is
// stopped 2 s later, and SIGKILL of kmsdk takes QEMU with it at once; too
// little memory is refused at once, naming the least that works; a kernel
// WARNING fails the run unless allowed; progress in a log is whole lines;
// and the guest kernel gets no parameter it does not know.
//
// After every run nothing kmsdk started is left running (support/
// kmsdk_cli.hpp), and after every signal no guest folder of it is left.
//
// The cases tagged [volume] (100 MB, 50 MB and 1 GB through the channel)
// run on the first test kernel only (tests/guest/CMakeLists.txt, ONCE):
// they work kmsdk's and the agent's code, whatever the kernel.
#include "guest_suite.hpp"
#include "kmsdk_cli.hpp"

#include "temp_dir.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <fcntl.h>
#include <optional>
#include <random>
#include <regex>
#include <unistd.h>

using namespace kmsdk;
using namespace kmsdk::test;
using namespace std::chrono_literals;
using kmsdk::detail::TempDir;
using Catch::Matchers::Contains;

namespace {

const std::string& release()
{
    return test_kernel().release();
}

// `kmsdk run -k <release> -q WORDS...`
Outcome run_quietly(const std::vector<std::string>& words, const KmsdkRun& how = {})
{
    std::vector<std::string> args{"run", "-k", release(), "-q"};
    args.insert(args.end(), words.begin(), words.end());
    return run_kmsdk(args, how);
}

// `kmsdk run -k <release> -- COMMAND...`, and `signal` half a second after
// its progress line says the guest is ready (the command has started by
// then).
Outcome run_and_signal(const std::vector<std::string>& command, int signal)
{
    std::vector<std::string> args{"run", "-k", release(), "--"};
    args.insert(args.end(), command.begin(), command.end());
    return run_kmsdk(args,
                     {.deadline = 60s, .signal = signal, .after_err = "ready in", .delay = 500ms});
}

// Where `got` first differs from `expected`, for a readable failure.
std::string first_difference(const std::string& got, const std::string& expected)
{
    if (got == expected)
        return "identical";
    auto [at, _] = std::mismatch(got.begin(), got.end(), expected.begin(), expected.end());
    auto offset = static_cast<std::size_t>(at - got.begin());
    return fmt::format("{} bytes where {} were expected; they differ from byte {} on", got.size(),
                       expected.size(), offset);
}

// Counts the bytes of a stream and checks each against a pattern repeated
// from the stream's start.
class PatternCheck {
public:
    explicit PatternCheck(std::string pattern) : pattern_{std::move(pattern)} {}
    void operator()(std::string_view piece)
    {
        for (char c : piece) {
            if (!mismatch_ && c != pattern_[bytes_ % pattern_.size()])
                mismatch_ = bytes_;
            ++bytes_;
        }
    }
    std::uint64_t bytes() const { return bytes_; }
    // The offset of the first byte that broke the pattern.
    std::optional<std::uint64_t> mismatch() const { return mismatch_; }

private:
    std::string pattern_;
    std::uint64_t bytes_ = 0;
    std::optional<std::uint64_t> mismatch_;
};

void report_timing(std::string_view what, Clock::duration took)
{
    fmt::print("run [{}]: {}: {:.2f} s\n", release(), what, seconds(took));
}

}  // namespace

// kmsdk run -k K -q -- sh -c 'exit 7'
TEST_CASE("kmsdk run -- sh -c 'exit 7' exits 7: the command's own status", "[run]")
{
    auto r = run_quietly({"--", "sh", "-c", "exit 7"});
    INFO(describe(r));
    CHECK(r.status == 7);
    CHECK(r.out.empty());
}

// kmsdk run -k K -q -- sh -c 'echo $((6*7))'
TEST_CASE("kmsdk run -- sh -c 'echo $((6*7))' prints 42: the guest's shell gets the words "
          "unexpanded",
          "[run]")
{
    auto r = run_quietly({"--", "sh", "-c", "echo $((6*7))"});
    INFO(describe(r));
    CHECK(r.status == 0);
    CHECK(r.out == "42\n");
}

// kmsdk run -k K -q -- printf '[%s]\n' 'a b' '$HOME' ''
TEST_CASE("kmsdk run -- printf '[%s]\\n' 'a b' '$HOME' '' passes each word as one argument: "
          "spaces, $ and empty words kept",
          "[run]")
{
    auto r = run_quietly({"--", "printf", "[%s]\\n", "a b", "$HOME", ""});
    INFO(describe(r));
    CHECK(r.status == 0);
    CHECK(r.out == "[a b]\n[$HOME]\n[]\n");
}

// kmsdk run -k K -q -- 'echo a; echo b'
TEST_CASE("kmsdk run -- 'echo a; echo b': one word is a shell command line", "[run]")
{
    auto r = run_quietly({"--", "echo a; echo b"});
    INFO(describe(r));
    CHECK(r.status == 0);
    CHECK(r.out == "a\nb\n");
}

TEST_CASE("a repeatable option right before -- takes one value, and options go in any order",
          "[run]")
{
    // kmsdk run -k K --kernel-module twofish-x86_64-3way -- sh -c 'lsmod >/dev/null; echo ok'
    auto kernel_module = run_kmsdk({"run", "-k", release(), "--kernel-module",
                                    "twofish-x86_64-3way", "--", "sh", "-c",
                                    "lsmod >/dev/null; echo ok"});
    INFO(describe(kernel_module));
    CHECK(kernel_module.status == 0);
    CHECK(kernel_module.out == "ok\n");

    // kmsdk run -k K --module .../kms_hello.ko -- sh -c 'insmod kms_hello.ko && echo loaded'
    auto hello = built_module("kms_hello").string();
    auto module = run_kmsdk({"run", "-k", release(), "--module", hello, "--", "sh", "-c",
                             "insmod kms_hello.ko && echo loaded"});
    INFO(describe(module));
    CHECK(module.status == 0);
    CHECK(module.out == "loaded\n");

    // Both staged, whatever the order of the options.
    const std::string both =
        "insmod kms_hello.ko && "
        "ls -R /lib/modules/$(uname -r)/kernel | grep -q twofish-x86_64-3way && echo both";
    const std::vector<std::vector<std::string>> orders{
        {"run", "-q", "--module", hello, "-k", release(), "--kernel-module", "twofish-x86_64-3way"},
        {"run", "--kernel-module", "twofish-x86_64-3way", "--timeout", "60", "-m", hello, "-q",
         "--kernel", release()},
        {"run", "--kernel", release(), "-m", hello, "--kernel-module", "twofish-x86_64-3way", "-q",
         "--memory", "256"},
    };
    for (auto args : orders) {
        args.insert(args.end(), std::initializer_list<std::string>{"--", "sh", "-c", both});
        INFO(fmt::format("kmsdk {}", fmt::join(args, " ")));
        auto r = run_kmsdk(args);
        INFO(describe(r));
        CHECK(r.status == 0);
        CHECK(r.out == "both\n");
    }
}

// kmsdk run -k K -q -- sh -c 'echo a; sleep 1.5; echo b' | (the test, timing each line)
TEST_CASE("kmsdk run passes output on as it is written: a line written 1.5 s before the next "
          "arrives at least 1 s before it",
          "[run]")
{
    std::string seen;
    std::optional<Clock::time_point> a_at, b_at;
    auto r = run_quietly({"--", "sh", "-c", "echo a; sleep 1.5; echo b"},
                         {.on_out = [&](std::string_view piece) {
                             seen.append(piece);
                             if (!a_at && seen.find("a\n") != std::string::npos)
                                 a_at = Clock::now();
                             if (!b_at && seen.find("b\n") != std::string::npos)
                                 b_at = Clock::now();
                         }});
    INFO(describe(r));
    CHECK(r.status == 0);
    CHECK(seen == "a\nb\n");
    REQUIRE(a_at);
    REQUIRE(b_at);
    INFO("a arrived " << seconds(*a_at - r.started) << " s after the start, b "
                      << seconds(*b_at - r.started) << " s, kmsdk exited at "
                      << seconds(r.took()) << " s");
    CHECK(*b_at - *a_at >= 1s);
}

// kmsdk run -k K -q -- sh -c 'head -c 100000000 /dev/zero' | (the test, counting)
TEST_CASE("100 MB of output arrive whole: exactly 100000000 zero bytes, and exit 0", "[run][volume]")
{
    PatternCheck zeros{std::string(1, '\0')};
    auto r = run_quietly({"--", "sh", "-c", "head -c 100000000 /dev/zero"},
                         {.deadline = 300s, .on_out = std::ref(zeros)});
    INFO(describe(r));
    report_timing("100 MB of zeros", r.took());
    CHECK(r.status == 0);
    CHECK(zeros.bytes() == 100000000);
    INFO("the first byte that is not 0: " << zeros.mismatch().value_or(0));
    CHECK_FALSE(zeros.mismatch());
}

// kmsdk run -k K -q -- sh -c 'dd if=/dev/zero bs=1000000 count=1000; grep VmHWM /proc/1/status >&2'
// busybox head copies a byte at a time under TCG (16 MB/s alone); dd does
// not, so 1 GB through the 256 MiB guest takes seconds, not minutes.
TEST_CASE("1 GB of output passes a 256 MiB guest whole, and the agent's memory stays small",
          "[run][volume]")
{
    PatternCheck zeros{std::string(1, '\0')};
    auto r = run_quietly({"--", "sh", "-c",
                          "dd if=/dev/zero bs=1000000 count=1000 2>/dev/null; "
                          "grep VmHWM /proc/1/status >&2"},
                         {.deadline = 300s, .on_out = std::ref(zeros)});
    INFO(describe(r));
    report_timing("1 GB of zeros", r.took());
    CHECK(r.status == 0);
    CHECK(zeros.bytes() == 1000000000);
    CHECK_FALSE(zeros.mismatch());
    // "VmHWM:	    2560 kB": the agent's peak over its whole life.
    auto at = r.err.find("VmHWM:");
    REQUIRE(at != std::string::npos);
    auto peak_kb = std::stoul(r.err.substr(at + 6));
    INFO("the agent's peak resident size: " << peak_kb << " kB");
    CHECK(peak_kb < 16UL * 1024);
}

// kmsdk run -k K -q -- sh -c 'yes abcdefghij | head -c 50000000' | (the test, checking)
TEST_CASE("50 MB of a pattern arrive byte for byte: yes abcdefghij | head -c 50000000", "[run][volume]")
{
    PatternCheck pattern{"abcdefghij\n"};
    auto r = run_quietly({"--", "sh", "-c", "yes abcdefghij | head -c 50000000"},
                         {.deadline = 300s, .on_out = std::ref(pattern)});
    INFO(describe(r));
    report_timing("50 MB of a pattern", r.took());
    CHECK(r.status == 0);
    CHECK(pattern.bytes() == 50000000);
    INFO("the first byte out of the pattern: " << pattern.mismatch().value_or(0));
    CHECK_FALSE(pattern.mismatch());
}

TEST_CASE("kmsdk run forwards stdin: text, 200000 lines, binary bytes; one that never ends "
          "does not hold it up",
          "[run]")
{
    // echo hi | kmsdk run -k K -q -- cat
    auto hi = run_kmsdk_shell(fmt::format("echo hi | kmsdk run -k {} -q -- cat", release()));
    INFO(describe(hi));
    CHECK(hi.status == 0);
    CHECK(hi.out == "hi\n");

    // seq 200000 | kmsdk run -k K -q -- wc -l
    auto lines =
        run_kmsdk_shell(fmt::format("seq 200000 | kmsdk run -k {} -q -- wc -l", release()));
    INFO(describe(lines));
    CHECK(lines.status == 0);
    CHECK(trimmed(lines.out) == "200000");

    // 1 MiB of random bytes | kmsdk run -k K -q -- cat
    auto seed = std::random_device{}();
    INFO("random seed " << seed);
    std::mt19937 random{seed};
    std::string bytes(1 << 20, '\0');
    std::uniform_int_distribution<int> byte{0, 255};
    for (auto& c : bytes)
        c = static_cast<char>(byte(random));
    auto binary = run_quietly({"--", "cat"}, {.input = bytes});
    INFO("status " << binary.status << ", stderr:\n" << binary.err);
    CHECK(binary.status == 0);
    CHECK(first_difference(binary.out, bytes) == "identical");

    // (a pipe whose writer never closes it) | kmsdk run -k K -q -- true
    auto baseline = run_quietly({"--", "true"});
    INFO(describe(baseline));
    REQUIRE(baseline.status == 0);
    int ends[2];
    REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
    auto open_stdin = run_quietly({"--", "true"}, {.deadline = 60s, .input_fd = ends[0]});
    INFO(describe(open_stdin));
    ::close(ends[0]);
    ::close(ends[1]);
    INFO("with /dev/null it took " << seconds(baseline.took()) << " s, with a pipe that stays open "
                                   << seconds(open_stdin.took()) << " s");
    CHECK(open_stdin.status == 0);
    CHECK(open_stdin.took() < baseline.took() + 5s);
}

TEST_CASE("SIGTERM, SIGINT and SIGHUP reach the command: kmsdk run -- sleep 30 exits 143, 130 "
          "and 129 at once, and leaves no QEMU and no guest folder",
          "[run]")
{
    for (auto [number, name] : {std::pair{SIGTERM, "SIGTERM"}, std::pair{SIGINT, "SIGINT"},
                                std::pair{SIGHUP, "SIGHUP"}}) {
        // kmsdk run -k K -- sleep 30, then kill -<number> once it is ready
        INFO(name);
        auto r = run_and_signal({"sleep", "30"}, number);
        INFO(describe(r));
        REQUIRE(r.signalled);
        CHECK(r.status == 128 + number);
        INFO("exited " << seconds(r.signal_to_exit()) << " s after the signal");
        CHECK(r.signal_to_exit() < 5s);
        CHECK(guest_folders_of(r.pid).empty());
    }
}

TEST_CASE("a command that ignores SIGTERM is stopped with its guest 2 s after the signal: "
          "kmsdk exits 143",
          "[run]")
{
    // kmsdk run -k K -- sh -c 'trap "" TERM; sleep 30', then kill -TERM once it is ready
    auto r = run_and_signal({"sh", "-c", "trap \"\" TERM; sleep 30"}, SIGTERM);
    INFO(describe(r));
    REQUIRE(r.signalled);
    CHECK(r.status == 143);
    INFO("exited " << seconds(r.signal_to_exit()) << " s after the signal");
    CHECK(r.signal_to_exit() >= 1500ms);
    CHECK(r.signal_to_exit() < 6s);
    CHECK_THAT(r.err, Contains("SIGTERM"));
    CHECK(guest_folders_of(r.pid).empty());
}

TEST_CASE("SIGKILL of kmsdk takes its QEMU within 1 s, and the next run removes the guest "
          "folder it left",
          "[run]")
{
    // kmsdk run -k K -- sleep 30, then kill -KILL once it is ready
    auto killed = run_and_signal({"sleep", "30"}, SIGKILL);
    INFO(describe(killed));
    REQUIRE(killed.signalled);
    CHECK(killed.status == 128 + SIGKILL);
    INFO("its processes were gone " << seconds(killed.cleanup) << " s after it died");
    CHECK(killed.left.empty());
    CHECK(killed.cleanup < 1s);
    // Nothing of kmsdk ran after SIGKILL to remove its folder; the next
    // run does, as its owner is gone.
    CHECK(guest_folders_of(killed.pid).size() == 1);
    auto next = run_quietly({"--", "true"});
    INFO(describe(next));
    CHECK(next.status == 0);
    CHECK(guest_folders_of(killed.pid).empty());
}

TEST_CASE("kmsdk run --memory 16 fails at once naming the least memory that works, and a run "
          "with that much works",
          "[run]")
{
    // kmsdk run -k K --memory 16 -- true
    auto small =
        run_kmsdk({"run", "-k", release(), "--memory", "16", "--", "true"}, {.deadline = 60s});
    INFO(describe(small));
    CHECK(small.status == 1);
    CHECK(small.took() < 10s);
    CHECK_THAT(small.err, Contains("16 MiB"));
    std::smatch floor_match;
    const std::regex at_least{R"(at least ([0-9]+) MiB)"};
    REQUIRE(std::regex_search(small.err, floor_match, at_least));
    auto floor = floor_match[1].str();
    CHECK(std::stoul(floor) > 16);
    CHECK(std::stoul(floor) <= 256);

    // kmsdk run -k K --memory <floor> -- true, saving its snapshot in a
    // folder of its own rather than the cache's.
    TempDir snapshots{"kmsdk-run-snapshots"};
    auto enough = run_kmsdk(
        {"run", "-k", release(), "--memory", floor, "--", "true"},
        {.env = {"KMSDK_SNAPSHOT_DIR=" + snapshots.path().string(), "KMSDK_COLD="}});
    INFO("with --memory " << floor << ": " << describe(enough));
    CHECK(enough.status == 0);
}

TEST_CASE("kmsdk run --cpus 2 gives the guest two CPUs that run at once; --cpus 0 is refused",
          "[run]")
{
    // kmsdk run -k K -q --cpus 2 -- sh -c 'nproc; grep -c ^processor /proc/cpuinfo'
    TempDir snapshots{"kmsdk-run-snapshots"};
    auto two = run_kmsdk({"run", "-k", release(), "-q", "--cpus", "2", "--", "sh", "-c",
                          "nproc; grep -c ^processor /proc/cpuinfo"},
                         {.env = {"KMSDK_SNAPSHOT_DIR=" + snapshots.path().string()}});
    INFO(describe(two));
    CHECK(two.status == 0);
    CHECK(two.out == "2\n2\n");

    auto none = run_kmsdk({"run", "-k", release(), "--cpus", "0", "--", "true"});
    INFO(describe(none));
    CHECK(none.status == 2);
    CHECK_THAT(none.err, Contains("--cpus: Value 0 not in range 1 to 64"));
    CHECK(none.took() < 5s);
}

TEST_CASE("a kernel WARNING fails the run with 250 and is quoted; --allow-kernel-problems keeps "
          "the command's status and still quotes it",
          "[run]")
{
    auto warn = built_module("kms_fault_warn").string();
    // kmsdk run -k K -m .../kms_fault_warn.ko -- insmod kms_fault_warn.ko
    auto failed =
        run_kmsdk({"run", "-k", release(), "-m", warn, "--", "insmod", "kms_fault_warn.ko"});
    INFO(describe(failed));
    CHECK(failed.status == 250);
    CHECK_THAT(failed.err,
               Contains("WARNING: ") && Contains("kms_fault_warn.c:") && Contains("CPU"));

    // kmsdk run -k K -m .../kms_fault_warn.ko --allow-kernel-problems -- insmod kms_fault_warn.ko
    auto allowed = run_kmsdk({"run", "-k", release(), "-m", warn, "--allow-kernel-problems", "--",
                              "insmod", "kms_fault_warn.ko"});
    INFO(describe(allowed));
    CHECK(allowed.status == 0);
    CHECK_THAT(allowed.err,
               Contains("WARNING: ") && Contains("kms_fault_warn.c:") && Contains("CPU"));
}

// kmsdk cycle .../kms_hello.ko -n 100 -k K 2>file
TEST_CASE("kmsdk cycle's progress on a stderr that is not a terminal is whole lines, with no "
          "carriage return",
          "[run]")
{
    auto r = run_kmsdk({"cycle", built_module("kms_hello").string(), "-n", "100", "-k", release()});
    INFO(describe(r));
    CHECK(r.status == 0);
    CHECK(r.err.find('\r') == std::string::npos);
    CHECK(r.err.ends_with("\n"));
    auto progress = lines_with(r.err, "/100 cycles");
    REQUIRE_FALSE(progress.empty());
    const std::regex whole{R"(kmsdk: ([0-9]+)/100 cycles)"};
    unsigned last = 0;
    for (const auto& line : progress) {
        INFO(line);
        std::smatch count;
        CHECK(std::regex_match(line, count, whole));
        if (!count.empty()) {
            CHECK(std::stoul(count[1]) > last);
            last = static_cast<unsigned>(std::stoul(count[1]));
        }
    }
    CHECK(progress.back() == "kmsdk: 100/100 cycles");
}

// kmsdk run -k K -q -- dmesg
TEST_CASE("the guest kernel gets no parameter it does not know: no lapic_timer_period, no "
          "\"Unknown kernel command line parameters\"",
          "[run]")
{
    auto r = run_quietly({"--", "dmesg"});
    INFO(describe(r));
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Contains("Linux version " + release()));
    CHECK_THAT(r.out, Contains("Command line:"));
    CHECK_THAT(r.out, !Contains("lapic_timer_period"));
    CHECK_THAT(r.out, !Contains("Unknown kernel command line parameters"));
}
