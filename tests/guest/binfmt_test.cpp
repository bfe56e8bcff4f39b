// SPDX-License-Identifier: GPL-2.0
// kms_binfmt in a real kernel: a binfmt handler makes files that begin with
// "#kms!<interpreter>\n" executable. While it is loaded such a file runs its
// interpreter with the file's path and the caller's arguments, whoever
// execs it (a shell, or a plain execve() from the agent); an interpreter
// that cannot run fails the exec with its own error; a header that is empty,
// longer than the kernel's 256-byte buffer, or holds a NUL is not the
// handler's; interpreters nest only as deep as the kernel allows (ELOOP).
// After rmmod, execve() fails with ENOEXEC ("Exec format error"), and a
// shell, as POSIX asks, runs the file as a shell script instead, where the
// "#kms!" line is a comment. Identical on 6.1, 6.12, 6.12-rt and 7.3.
#include "guest_suite.hpp"

#include <string>

using namespace kmsdk;
using namespace kmsdk::test;
using namespace std::string_literals;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_binfmt"}); });
}

// Run by cat, the file prints itself; run by a shell as a script, its first
// line is a comment and the second prints the sentence below.
const std::string self_kms = "#kms!/bin/cat\n"
                             "echo \"a shell ran this line: no handler took the file\"\n";
const std::string shell_ran_it = "a shell ran this line: no handler took the file\n";

// "kmsdk-agent: cannot run <path>: <strerror>": the agent's own execve()
// failed, and unlike a shell or glibc's execvp() it tries nothing else.
std::string agent_cannot_run(const std::string& path, const std::string& error)
{
    return "kmsdk-agent: cannot run " + path + ": " + error + "\n";
}

void load(Guest& g)
{
    REQUIRE_FALSE(is_loaded(g, "kms_binfmt"));
    auto log = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_binfmt").ok()); });
    CHECK_THAT(log,
               Contains("kms_binfmt: registered: files that begin with #kms! run their interpreter"));
}

void unload(Guest& g)
{
    auto log = kernel_log_during(g, [&] { REQUIRE(g.rmmod("kms_binfmt").ok()); });
    CHECK_THAT(log, Contains("kms_binfmt: unregistered"));
    CHECK_FALSE(is_loaded(g, "kms_binfmt"));
}

}  // namespace

TEST_CASE("#kms!/bin/cat makes a file print itself, from a shell and from a plain execve()",
          "[binfmt]")
{
    auto& g = guest();
    load(g);
    g.write("/tmp/self.kms", self_kms, 0755);

    auto shell = g.run("/tmp/self.kms");
    CHECK(shell.status == 0);
    CHECK(shell.out == self_kms);
    CHECK(shell.err.empty());

    // The agent's execve(), no shell in between (cat adds /dev/null's nothing).
    auto direct = g.run(Command{{"/tmp/self.kms", "/dev/null"}});
    CHECK(direct.status == 0);
    CHECK(direct.out == self_kms);
    CHECK(direct.err.empty());

    auto env = g.run("busybox env /tmp/self.kms");
    CHECK(env.status == 0);
    CHECK(env.out == self_kms);

    // The exec core holds the module only while the handler runs.
    CHECK(g.read("/sys/module/kms_binfmt/refcnt") == "0\n");
    unload(g);
    CHECK_HEALTHY(g);
}

TEST_CASE("the interpreter's argv is its own path, the file's path, then the caller's arguments",
          "[binfmt]")
{
    auto& g = guest();
    load(g);
    g.write("/tmp/self.kms", self_kms, 0755);

    // cat prints the file, then its own command line: NUL-separated argv.
    auto argv = g.run(Command{{"/tmp/self.kms", "/proc/self/cmdline"}});
    CHECK(argv.status == 0);
    CHECK(argv.out == self_kms + "/bin/cat\0/tmp/self.kms\0/proc/self/cmdline\0"s);

    // The process is named after the file exec was given, not the interpreter.
    auto comm = g.run("/tmp/self.kms /proc/self/comm");
    CHECK(comm.status == 0);
    CHECK(comm.out == self_kms + "self.kms\n");

    // An interpreter that is a "#!" script: binfmt_script takes the next round.
    g.write("/tmp/show-args.sh", "#!/bin/sh\nprintf \"[%s]\" \"$0\" \"$@\"; echo\n", 0755);
    g.write("/tmp/nested.kms", "#kms!/tmp/show-args.sh\n", 0755);
    auto nested = g.run("/tmp/nested.kms one 'two words'");
    CHECK(nested.status == 0);
    CHECK(nested.out == "[/tmp/show-args.sh][/tmp/nested.kms][one][two words]\n");

    unload(g);
    CHECK_HEALTHY(g);
}

TEST_CASE("an interpreter that cannot run fails the exec with its own error: ENOENT, EACCES",
          "[binfmt]")
{
    auto& g = guest();
    load(g);
    g.write("/tmp/missing.kms", "#kms!/no/such/interpreter\n", 0755);
    g.write("/tmp/dir.kms", "#kms!/tmp\n", 0755);

    // The file exists; its interpreter does not.
    auto missing = g.run(Command{{"/tmp/missing.kms", "x"}});
    CHECK(missing.status == 127);
    CHECK(missing.err == agent_cannot_run("/tmp/missing.kms", "No such file or directory"));
    auto missing_shell = g.run("/tmp/missing.kms");
    CHECK(missing_shell.status == 127);
    CHECK_THAT(missing_shell.err, Contains("/tmp/missing.kms: not found"));

    // A directory is no program: open_exec() refuses it.
    auto dir = g.run(Command{{"/tmp/dir.kms", "x"}});
    CHECK(dir.status == 127);
    CHECK(dir.err == agent_cannot_run("/tmp/dir.kms", "Permission denied"));
    auto dir_shell = g.run("/tmp/dir.kms");
    CHECK(dir_shell.status == 126);
    CHECK_THAT(dir_shell.err, Contains("/tmp/dir.kms: Permission denied"));

    unload(g);
    CHECK_HEALTHY(g);
}

TEST_CASE("a header line must end within the kernel's 256-byte buffer and hold a path with no "
          "NUL, or the file is not the handler's: Exec format error",
          "[binfmt]")
{
    auto& g = guest();
    load(g);
    // "#kms!" + 250 bytes of path + "\n" is 256 bytes, BINPRM_BUF_SIZE: the
    // longest header. One byte more and the newline is past what exec read.
    const std::string fits = "/tmp/" + std::string(241, 'd');
    const std::string over = "/tmp/" + std::string(242, 'd');
    REQUIRE(g.run("mkdir -p " + fits + " " + over).ok());
    REQUIRE(g.run("ln -sf /bin/cat " + fits + "/cat && ln -sf /bin/cat " + over + "/cat").ok());
    const std::string fits_kms = "#kms!" + fits + "/cat\n";
    const std::string over_kms = "#kms!" + over + "/cat\n";
    REQUIRE(fits_kms.size() == 256);
    g.write("/tmp/fits.kms", fits_kms, 0755);
    g.write("/tmp/over.kms", over_kms, 0755);

    auto longest = g.run(Command{{"/tmp/fits.kms", "/dev/null"}});
    CHECK(longest.status == 0);
    CHECK(longest.out == fits_kms);
    // The same interpreter, one byte further: refused, not cut short.
    auto too_long = g.run(Command{{"/tmp/over.kms", "x"}});
    CHECK(too_long.status == 127);
    CHECK(too_long.err == agent_cannot_run("/tmp/over.kms", "Exec format error"));

    g.write("/tmp/empty.kms", "#kms!\necho \"a shell ran this line: no handler took the file\"\n",
            0755);
    auto empty = g.run(Command{{"/tmp/empty.kms", "x"}});
    CHECK(empty.status == 127);
    CHECK(empty.err == agent_cannot_run("/tmp/empty.kms", "Exec format error"));
    // A shell then runs it as a script.
    auto empty_shell = g.run("/tmp/empty.kms");
    CHECK(empty_shell.status == 0);
    CHECK(empty_shell.out == shell_ran_it);

    g.write("/tmp/nul.kms", "#kms!/bin/cat\0.kms\n"s, 0755);
    auto nul = g.run(Command{{"/tmp/nul.kms", "x"}});
    CHECK(nul.status == 127);
    CHECK(nul.err == agent_cannot_run("/tmp/nul.kms", "Exec format error"));

    unload(g);
    CHECK_HEALTHY(g);
}

TEST_CASE("interpreters nest five deep and no deeper: a sixth level, or a file that names "
          "itself, fails with ELOOP",
          "[binfmt]")
{
    auto& g = guest();
    load(g);
    // c1 runs echo; each c<n> runs c<n-1>.
    g.write("/tmp/c1.kms", "#kms!/bin/echo\n", 0755);
    for (int n = 2; n <= 6; ++n)
        g.write("/tmp/c" + std::to_string(n) + ".kms",
                "#kms!/tmp/c" + std::to_string(n - 1) + ".kms\n", 0755);

    // Five handler rounds and echo's ELF: six, the most exec_binprm() makes.
    auto five = g.run(Command{{"/tmp/c5.kms", "x"}});
    CHECK(five.status == 0);
    CHECK(five.out == "/tmp/c1.kms /tmp/c2.kms /tmp/c3.kms /tmp/c4.kms /tmp/c5.kms x\n");
    auto six = g.run(Command{{"/tmp/c6.kms", "x"}});
    CHECK(six.status == 127);
    CHECK(six.err == agent_cannot_run("/tmp/c6.kms", "Too many levels of symbolic links"));

    g.write("/tmp/loop.kms", "#kms!/tmp/loop.kms\n", 0755);
    auto loop = g.run(Command{{"/tmp/loop.kms", "x"}});
    CHECK(loop.status == 127);
    CHECK(loop.err == agent_cannot_run("/tmp/loop.kms", "Too many levels of symbolic links"));
    auto loop_shell = g.run("/tmp/loop.kms");
    CHECK(loop_shell.status == 127);
    CHECK_THAT(loop_shell.err, Contains("/tmp/loop.kms: Too many levels of symbolic links"));

    unload(g);
    CHECK_HEALTHY(g);
}

TEST_CASE("after rmmod execve() fails with Exec format error, and a shell runs the file as a "
          "script instead",
          "[binfmt]")
{
    auto& g = guest();
    load(g);
    g.write("/tmp/self.kms", self_kms, 0755);
    REQUIRE(g.run("/tmp/self.kms").out == self_kms);
    unload(g);

    auto direct = g.run(Command{{"/tmp/self.kms", "x"}});
    CHECK(direct.status == 127);
    CHECK(direct.out.empty());
    CHECK(direct.err == agent_cannot_run("/tmp/self.kms", "Exec format error"));

    // busybox sh gets ENOEXEC and runs the file itself: "#kms!/bin/cat" is
    // a comment, the echo line runs.
    auto shell = g.run("/tmp/self.kms");
    CHECK(shell.status == 0);
    CHECK(shell.out == shell_ran_it);
    CHECK(shell.err.empty());

    // So does glibc's execvp(), which busybox env calls: it runs /bin/sh.
    auto env = g.run("busybox env /tmp/self.kms");
    CHECK(env.status == 0);
    CHECK(env.out == shell_ran_it);
    CHECK_HEALTHY(g);
}
