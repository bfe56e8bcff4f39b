// SPDX-License-Identifier: GPL-2.0
// kms_printk in a real kernel: every message goes to the log buffer with its
// level, only those below the console log level (the first number of
// /proc/sys/kernel/printk) reach the serial console, pr_debug() prints only
// once dynamic debug turns it on, and util-linux's `dmesg -c` and `dmesg -C`
// clear what dmesg shows.
#include "guest_suite.hpp"

#include <fmt/format.h>

#include <chrono>
#include <iterator>
#include <sstream>
#include <thread>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_printk"}); });
}

// The four numbers of /proc/sys/kernel/printk.
std::vector<std::string> printk_levels(Guest& g)
{
    return words(g.read("/proc/sys/kernel/printk"));
}

void set_printk_levels(Guest& g, std::string_view levels)
{
    auto r = g.run(fmt::format("echo {} > /proc/sys/kernel/printk", levels));
    REQUIRE(r.status == 0);
}

// Prints kms_printk's set of lines again, tagged `tag`.
void emit(Guest& g, std::string_view tag)
{
    auto r = g.run(fmt::format("echo {} > /sys/module/kms_printk/parameters/emit", tag));
    REQUIRE(r.status == 0);
}

// What the serial console showed up to a level 0 message written after
// everything before it: the console prints records in order, so once the
// marker is there, every earlier record the console was going to print is
// there too. Waits up to 2 s for it.
std::string console_up_to_marker(Guest& g, std::string_view marker)
{
    auto r = g.run(fmt::format("echo '<0>{}' > /dev/kmsg", marker));
    REQUIRE(r.status == 0);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (;;) {
        auto console = g.console_tail(400);
        if (console.find(marker) != std::string::npos)
            return console;
        if (std::chrono::steady_clock::now() >= until) {
            FAIL("the console never showed the level 0 marker '" << marker << "'; its tail:\n"
                                                                  << console);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

bool has(std::string_view text, std::string_view needle)
{
    return text.find(needle) != std::string_view::npos;
}

}  // namespace

TEST_CASE("writing /proc/sys/kernel/printk changes the console log level", "[printk]")
{
    auto& g = guest();
    // Debian boots with 7 4 1 7; the `quiet` the guest boots with makes the
    // first number 4.
    auto levels = printk_levels(g);
    REQUIRE(levels.size() == 4);
    CHECK(levels == std::vector<std::string>{"4", "4", "1", "7"});

    set_printk_levels(g, "8 4 1 7");
    CHECK(printk_levels(g) == std::vector<std::string>{"8", "4", "1", "7"});

    // One number changes only the first.
    set_printk_levels(g, "2");
    CHECK(printk_levels(g) == std::vector<std::string>{"2", "4", "1", "7"});

    // dmesg -n sets the same number.
    REQUIRE(g.run("dmesg -n 8").status == 0);
    CHECK(printk_levels(g).at(0) == "8");

    set_printk_levels(g, "4 4 1 7");
    CHECK(printk_levels(g) == std::vector<std::string>{"4", "4", "1", "7"});
    CHECK_HEALTHY(g);
}

TEST_CASE("only messages below the console log level reach the serial console", "[printk]")
{
    auto& g = guest();
    REQUIRE(g.run("insmod kms_printk.ko").status == 0);

    SECTION("at 4, the level under quiet, levels 0 to 3 do")
    {
        emit(g, "console4");
        auto console = console_up_to_marker(g, "kmsdk-marker-console4");
        for (int level = 0; level <= 3; ++level)
            CHECK(has(console, fmt::format("kms_printk: console4: level {}", level)));
        for (int level = 4; level <= 6; ++level)
            CHECK_FALSE(has(console, fmt::format("console4: level {}", level)));
        // No level: the default message level, 4, which is not below 4.
        CHECK_FALSE(has(console, "console4: no level"));
    }
    SECTION("at 8, every level does")
    {
        set_printk_levels(g, "8 4 1 7");
        emit(g, "console8");
        auto console = console_up_to_marker(g, "kmsdk-marker-console8");
        for (int level = 0; level <= 6; ++level)
            CHECK(has(console, fmt::format("kms_printk: console8: level {}", level)));
        CHECK(has(console, "kms_printk: console8: no level (KERN_DEFAULT)"));
        // pr_debug() is not printed at all until dynamic debug enables it.
        CHECK_FALSE(has(console, "console8: level 7"));
    }
    SECTION("at 1, the minimum, only level 0 does")
    {
        set_printk_levels(g, "1 4 1 7");
        auto mark = g.log_mark();
        emit(g, "console1");
        auto console = console_up_to_marker(g, "kmsdk-marker-console1");
        CHECK(has(console, "kms_printk: console1: level 0 (KERN_EMERG)"));
        for (int level = 1; level <= 6; ++level)
            CHECK_FALSE(has(console, fmt::format("console1: level {}", level)));
        CHECK_FALSE(has(console, "console1: no level"));
        // The log buffer has every one of them all the same.
        auto log = g.dmesg_since(mark);
        for (int level = 0; level <= 6; ++level)
            CHECK(has(log, fmt::format("kms_printk: console1: level {}", level)));
        CHECK(has(log, "kms_printk: console1: no level (KERN_DEFAULT)"));
    }

    set_printk_levels(g, "4 4 1 7");
    REQUIRE(g.run("rmmod kms_printk").status == 0);
    CHECK_HEALTHY(g);
}

TEST_CASE("pr_debug prints only once dynamic debug enables it", "[printk]")
{
    auto& g = guest();
    REQUIRE(g.run("insmod kms_printk.ko").status == 0);

    // Compiled in, off: dynamic debug lists it with no flags ("=_").
    auto control = lines_with(g.read("/proc/dynamic_debug/control"), "[kms_printk]");
    REQUIRE(control.size() == 1);
    CHECK_THAT(control[0], Contains("=_") && Contains("level 7 (KERN_DEBUG)"));

    auto off = kernel_log_during(g, [&] { emit(g, "debugoff"); });
    CHECK_THAT(off, Contains("kms_printk: debugoff: level 6 (KERN_INFO)"));
    CHECK_FALSE(has(off, "debugoff: level 7"));

    REQUIRE(g.run("echo 'module kms_printk +p' > /proc/dynamic_debug/control").status == 0);
    CHECK_THAT(lines_with(g.read("/proc/dynamic_debug/control"), "[kms_printk]").at(0),
               Contains("=p"));
    auto on = kernel_log_during(g, [&] { emit(g, "debugon"); });
    CHECK_THAT(on, Contains("kms_printk: debugon: level 7 (KERN_DEBUG), shown when dynamic "
                            "debug enables it"));

    // The same control file under debugfs turns it off again.
    REQUIRE(g.run("echo 'module kms_printk -p' > /sys/kernel/debug/dynamic_debug/control")
                .status == 0);
    auto again = kernel_log_during(g, [&] { emit(g, "debugagain"); });
    CHECK_THAT(again, Contains("kms_printk: debugagain: level 6"));
    CHECK_FALSE(has(again, "debugagain: level 7"));
    REQUIRE(g.run("rmmod kms_printk").status == 0);

    // dyndbg=+p at load: on from the first line init prints.
    auto load = kernel_log_during(g, [&] {
        REQUIRE(g.run("insmod kms_printk.ko dyndbg=+p").status == 0);
    });
    CHECK_THAT(load, Contains("kms_printk: load: level 7 (KERN_DEBUG)"));
    REQUIRE(g.run("rmmod kms_printk").status == 0);
    CHECK_HEALTHY(g);
}

TEST_CASE("dmesg -C clears the log without printing it", "[printk]")
{
    auto& g = guest();
    REQUIRE(g.run("insmod kms_printk.ko").status == 0);
    emit(g, "beforewipe");
    CHECK_THAT(g.run("dmesg").out, Contains("kms_printk: beforewipe: level 6"));

    auto wiped = g.run("dmesg -C");
    REQUIRE(wiped.status == 0);
    CHECK(wiped.out.empty());
    CHECK_FALSE(has(g.run("dmesg").out, "beforewipe"));
    // busybox's dmesg, the guest's before kmsdk carried util-linux's, has
    // no -C.
    auto busybox = g.run("busybox dmesg -C");
    CHECK(busybox.status != 0);
    CHECK_THAT(busybox.err, Contains("invalid option -- 'C'"));
    REQUIRE(g.run("rmmod kms_printk").status == 0);
    CHECK_HEALTHY(g);
}

TEST_CASE("dmesg -c prints the log and clears it, for dmesg but not for /dev/kmsg", "[printk]")
{
    auto& g = guest();
    REQUIRE(g.run("insmod kms_printk.ko").status == 0);
    auto mark = g.log_mark();
    emit(g, "beforeclear");
    CHECK_THAT(g.run("dmesg").out, Contains("kms_printk: beforeclear: level 6"));

    auto cleared = g.run("dmesg -c");
    REQUIRE(cleared.status == 0);
    CHECK_THAT(cleared.out, Contains("kms_printk: beforeclear: level 6"));

    auto after = g.run("dmesg");
    REQUIRE(after.status == 0);
    CHECK_FALSE(has(after.out, "beforeclear"));
    CHECK_FALSE(has(after.out, "kms_printk: load:"));

    emit(g, "afterclear");
    auto later = g.run("dmesg").out;
    CHECK_THAT(later, Contains("kms_printk: afterclear: level 0"));
    CHECK_FALSE(has(later, "beforeclear"));

    // Clearing (SYSLOG_ACTION_CLEAR) only moves where syslog reads start:
    // the records stay in the buffer, and /dev/kmsg, which Guest::dmesg()
    // and the health check read by sequence number, still has them.
    auto kmsg = g.dmesg_since(mark);
    CHECK_THAT(kmsg, Contains("kms_printk: beforeclear: level 6"));
    CHECK_THAT(kmsg, Contains("kms_printk: afterclear: level 6"));

    REQUIRE(g.run("rmmod kms_printk").status == 0);
    CHECK_HEALTHY(g);
}

TEST_CASE("the log keeps each message's level: dmesg -r and /dev/kmsg show it", "[printk]")
{
    auto& g = guest();
    REQUIRE(g.run("insmod kms_printk.ko").status == 0);
    emit(g, "rawlevels");

    // dmesg -r: "<level>[   time] text"; kernel messages are facility 0,
    // so the number is the level itself.
    auto raw = g.run("dmesg -r");
    REQUIRE(raw.status == 0);
    for (int level = 0; level <= 6; ++level) {
        auto lines = lines_with(raw.out, fmt::format("kms_printk: rawlevels: level {} ", level));
        REQUIRE(lines.size() == 1);
        CHECK_THAT(lines[0], StartsWith(fmt::format("<{}>", level)));
    }
    // A printk() without a level is stored at the default message level.
    auto plain = lines_with(raw.out, "kms_printk: rawlevels: no level (KERN_DEFAULT)");
    REQUIRE(plain.size() == 1);
    CHECK_THAT(plain[0], StartsWith("<4>"));
    // Plain dmesg drops the prefix.
    auto cooked = lines_with(g.run("dmesg").out, "kms_printk: rawlevels: level 0 ");
    REQUIRE(cooked.size() == 1);
    CHECK_THAT(cooked[0], StartsWith("["));

    // A line written to /dev/kmsg is a message from user space: facility
    // 1 (user), level 4 unless it says otherwise, so <12> = 1*8+4. dmesg -x
    // decodes the two. util-linux 2.38's dmesg -r prints the facility
    // unshifted, or'ed with the level (1|4 = <5>, 1|3 = <3>); busybox's
    // dmesg -r prints the kernel's number.
    REQUIRE(g.run("echo kmsdk-from-user-space > /dev/kmsg").status == 0);
    REQUIRE(g.run("echo '<3>kmsdk-user-error' > /dev/kmsg").status == 0);
    auto decoded = g.run("dmesg -x");
    REQUIRE(decoded.status == 0);
    auto user = lines_with(decoded.out, "kmsdk-from-user-space");
    REQUIRE(user.size() == 1);
    CHECK_THAT(user[0], StartsWith("user  :warn  : ["));
    auto user_error = lines_with(decoded.out, "kmsdk-user-error");
    REQUIRE(user_error.size() == 1);
    CHECK_THAT(user_error[0], StartsWith("user  :err   : ["));
    auto kernels_number = g.run("busybox dmesg -r");
    REQUIRE(kernels_number.status == 0);
    user = lines_with(kernels_number.out, "kmsdk-from-user-space");
    REQUIRE(user.size() == 1);
    CHECK_THAT(user[0], StartsWith("<12>"));
    user_error = lines_with(kernels_number.out, "kmsdk-user-error");
    REQUIRE(user_error.size() == 1);
    CHECK_THAT(user_error[0], StartsWith("<11>"));

    // /dev/kmsg itself: one record per read, "level,sequence,usec,flags;text".
    // cat follows new records forever: timeout ends it.
    auto kmsg = g.run("timeout 1 cat /dev/kmsg");
    for (int level = 0; level <= 6; ++level) {
        auto lines = lines_with(kmsg.out, fmt::format("kms_printk: rawlevels: level {} ", level));
        REQUIRE(lines.size() == 1);
        CHECK_THAT(lines[0], StartsWith(fmt::format("{},", level)));
        CHECK_THAT(lines[0], Contains(";kms_printk: rawlevels:"));
    }
    auto user_record = lines_with(kmsg.out, "kmsdk-from-user-space");
    REQUIRE(user_record.size() == 1);
    CHECK_THAT(user_record[0], StartsWith("12,"));

    REQUIRE(g.run("rmmod kms_printk").status == 0);
    CHECK_HEALTHY(g);
}
