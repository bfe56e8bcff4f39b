// SPDX-License-Identifier: GPL-2.0
// gdb on the guest's kernel (kmsdk debug, kmsdk::Debugger), run the way a
// user runs it: batch mode with a file of commands, commands piped in,
// Ctrl-C. A breakpoint on kms_hello's init function, set before insmod
// loads the module, is hit by it; `print` shows the parameter given on the
// command line; `bt` names the function with its source line, and the
// kernel's caller from /proc/kallsyms; `continue` lets insmod finish, and
// the guest stays healthy.
#include "guest_suite.hpp"
#include "kmsdk_cli.hpp"

#include "kmsdk/debugger.hpp"

#include <fmt/format.h>

#include <csignal>
#include <fstream>
#include <regex>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

// A file of gdb commands in the test's folder.
std::filesystem::path gdb_commands(const std::string& name, const std::string& text)
{
    auto path = std::filesystem::temp_directory_path() / fmt::format("kmsdk-debug-test-{}-{}.gdb", ::getpid(), name);
    std::ofstream{path} << text;
    return path;
}

std::vector<std::string> debug_args(std::initializer_list<std::string> more)
{
    std::vector<std::string> args = {"debug", "--kernel", test_kernel().release(), "-m",
                                     built_module("kms_hello").string()};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

const std::string init_breakpoint = "break kms_hello_init\ncontinue\nprint whom\nbt\ncontinue\n";

}  // namespace

TEST_CASE("kmsdk debug: a breakpoint on the init function is hit by insmod, print and bt see the module",
          "[debug]")
{
    auto commands = gdb_commands("init", init_breakpoint);
    auto r = run_kmsdk(debug_args({"--gdb-commands", commands.string(), "--",
                                   "insmod kms_hello.ko whom=7 && echo insmod-done && "
                                   "cat /sys/module/kms_hello/sections/.init.text"}));
    std::filesystem::remove(commands);
    INFO(describe(r));
    CHECK(r.status == 0);
    // The symbols went where sysfs says the module's code is.
    std::smatch placed;
    REQUIRE(std::regex_search(r.out, placed, std::regex{R"(symbols added from .* \(code at (0x[0-9a-f]+)\))"}));
    CHECK_THAT(r.err, Contains(placed[1].str() + "\n"));
    // gdb's words, on stdout.
    CHECK_THAT(r.out, Contains("Breakpoint 1, kms_hello_init () at "));
    CHECK_THAT(r.out, Contains("kms_hello.c:"));
    CHECK_THAT(r.out, Contains("$1 = ") && Contains("\"7\""));
    CHECK_THAT(r.out, Contains("#0  kms_hello_init () at "));
    // The caller, named from the guest's /proc/kallsyms (or the -dbg vmlinux).
    CHECK_THAT(r.out, Contains(" in do_one_initcall ("));
    CHECK_THAT(r.out, Contains("detached"));
    // The command's output, on stderr: insmod finished after `continue`.
    CHECK_THAT(r.err, Contains("insmod-done"));
    CHECK_THAT(r.err, Contains("kmsdk: gdb attached; kernel symbols from"));
}

TEST_CASE("kmsdk debug: a module loaded before gdb attached has its symbols, and unloading removes them",
          "[debug]")
{
    auto commands = gdb_commands("exit", "break kms_hello_exit\ncontinue\nbt 1\ncontinue\n");
    auto r = run_kmsdk(debug_args({"--modules-load", "kms_hello", "--gdb-commands", commands.string(), "--",
                                   "rmmod kms_hello && echo rmmod-done"}));
    std::filesystem::remove(commands);
    INFO(describe(r));
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Contains("kmsdk: kms_hello is loading: symbols added"));
    CHECK_THAT(r.out, Contains("Breakpoint 1, kms_hello_exit () at "));
    CHECK_THAT(r.out, Contains("kmsdk: kms_hello is unloading: its symbols removed"));
    CHECK_THAT(r.err, Contains("rmmod-done"));
}

TEST_CASE("kmsdk debug: commands piped to gdb run, and the session ends when the command has",
          "[debug]")
{
    auto r = run_kmsdk(debug_args({"-q", "--", "insmod kms_hello.ko whom=piped && rmmod kms_hello"}),
                       KmsdkRun{.input = "break kms_hello_init\ncontinue\nprint whom\ncontinue\n"});
    INFO(describe(r));
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Contains("\"piped\""));
}

TEST_CASE("kmsdk debug at a terminal: gdb takes typed commands, has its prompt back when the command ends",
          "[debug]")
{
    // script(1) gives kmsdk a pseudo-terminal, as a user's shell would;
    // the commands are typed ahead, and gdb reads each at its prompt.
    auto line = fmt::format("printf 'break kms_hello_init\\ncontinue\\nprint whom\\ncontinue\\nquit\\ny\\n' | "
                            "script -qec \"{} debug -q --kernel {} -m {} -- 'insmod kms_hello.ko whom=tty && "
                            "echo loaded'\" /dev/null",
                            kmsdk_cli().string(), test_kernel().release(), built_module("kms_hello").string());
    auto r = run_kmsdk_shell(line);
    INFO(describe(r));
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Contains("(gdb) "));
    CHECK_THAT(r.out, Contains("Breakpoint 1, "));
    CHECK_THAT(r.out, Contains("\"tty\""));
    CHECK_THAT(r.out, Contains("loaded"));
    CHECK_THAT(r.out, Contains("[Inferior 1 (process 1) detached]"));
}

TEST_CASE("kmsdk debug: the command's status is kmsdk's, and a broken gdb script fails the run",
          "[debug]")
{
    auto failing = gdb_commands("status", "continue\n");
    auto r = run_kmsdk(debug_args({"-q", "--gdb-commands", failing.string(), "--", "exit 3"}));
    INFO(describe(r));
    CHECK(r.status == 3);

    auto broken = gdb_commands("broken", "print no_such_symbol_anywhere\n");
    auto b = run_kmsdk(debug_args({"-q", "--gdb-commands", broken.string(), "--", "true"}));
    std::filesystem::remove(failing);
    std::filesystem::remove(broken);
    INFO(describe(b));
    CHECK(b.status == 1);
    CHECK_THAT(b.err, Contains("Error in sourced command file"));
    CHECK_THAT(b.err, Contains("kmsdk: gdb exited with status 1"));
}

TEST_CASE("kmsdk debug: Ctrl-C while gdb holds the guest at a breakpoint ends everything", "[debug]")
{
    // gdb stops at the breakpoint and then waits in a shell command: the
    // insmod cannot end, and SIGINT must still end the run.
    auto commands = gdb_commands("sigint", "break kms_hello_init\ncontinue\nshell sleep 60\ncontinue\n");
    auto r = run_kmsdk(debug_args({"--gdb-commands", commands.string(), "--", "insmod kms_hello.ko"}),
                       KmsdkRun{.deadline = std::chrono::seconds{60},
                                .signal = SIGINT,
                                .after_err = "kmsdk: gdb attached",
                                .delay = std::chrono::milliseconds{1500}});
    std::filesystem::remove(commands);
    INFO(describe(r));
    CHECK(r.status == 128 + SIGINT);
    CHECK(seconds(r.signal_to_exit()) < 10);
    CHECK(guest_folders_of(r.pid).empty());
}

TEST_CASE("kmsdk::Debugger from C++: the same breakpoint through the library", "[debug]")
{
    auto hello = built_module("kms_hello");
    Guest g{GuestOptions{}.kernel(test_kernel().release()).module(hello).gdb_stub()};
    REQUIRE_FALSE(g.gdb_socket().empty());
    auto commands = gdb_commands("library", init_breakpoint);
    Debugger gdb{g, DebuggerOptions{}.module(hello).commands(commands)};
    auto insmod = gdb.run(Command::shell("insmod kms_hello.ko whom=library"));
    CHECK(insmod.ok());
    CHECK(gdb.finish() == 0);
    std::filesystem::remove(commands);
    CHECK(g.read("/sys/module/kms_hello/parameters/whom") == "library\n");
    g.check_healthy();

    SECTION("a guest without a gdbstub is refused, saying what to do")
    {
        Guest plain{GuestOptions{}.kernel(test_kernel().release())};
        CHECK_THROWS_WITH(Debugger(plain, DebuggerOptions{}), Contains("GuestOptions::gdb_stub()"));
    }
}
