// SPDX-License-Identifier: GPL-2.0
// kms_hello in a real kernel: what insmod, lsmod, /proc/modules, rmmod and
// modinfo show, and what a module whose init fails leaves behind. Then the
// notes' other hellos: kms-hello-1.ko, entry points found by name, loaded
// under its file's name and removed under its module's (kms_hello_1); an
// init that returns -EPERM ("Operation not permitted"); __init code and
// __initdata gone from /proc/kallsyms once init has run, __exit code kept;
// and lsmod's order, line count and sizes, which are /proc/modules'.
#include "guest_suite.hpp"
#include "host_command.hpp"

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <sstream>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest(
        [] { return with_built_modules({"kms_hello", "kms-hello-1", "kms_fault_initfail"}); });
}

}  // namespace

TEST_CASE("insmod runs init, lsmod and /proc/modules list it, rmmod runs exit", "[hello]")
{
    auto& g = guest();
    auto loaded = kernel_log_during(g, [&] {
        auto insmod = g.run("insmod kms_hello.ko");
        REQUIRE(insmod.status == 0);
    });
    CHECK_THAT(loaded, Contains("kms_hello: hello, world"));

    // Module  Size  Used by: nobody uses it yet.
    auto lsmod = words(line_of(g.run("lsmod").out, "kms_hello"));
    REQUIRE(lsmod.size() >= 3);
    CHECK(lsmod[2] == "0");

    // name size refcount deps state address taints
    auto proc = words(line_of(g.read("/proc/modules"), "kms_hello"));
    REQUIRE(proc.size() >= 5);
    CHECK(proc[2] == "0");
    CHECK(proc[4] == "Live");

    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.run("rmmod kms_hello").status == 0); });
    CHECK_THAT(unloaded, Contains("kms_hello: goodbye, world"));
    CHECK(line_of(g.read("/proc/modules"), "kms_hello").empty());
    CHECK_HEALTHY(g);
}

TEST_CASE("a parameter given to insmod reaches init and sysfs", "[hello]")
{
    auto& g = guest();
    auto log = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_hello", "whom=students").ok()); });
    CHECK_THAT(log, Contains("hello, students"));
    CHECK(g.read("/sys/module/kms_hello/parameters/whom") == "students\n");
    REQUIRE(g.rmmod("kms_hello").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("a second insmod of a loaded module fails with File exists", "[hello]")
{
    auto& g = guest();
    REQUIRE(g.run("insmod kms_hello.ko").status == 0);
    auto again = g.run("insmod kms_hello.ko");
    CHECK(again.status != 0);
    CHECK_THAT(again.err, Contains("File exists"));

    auto helper = g.insmod("kms_hello");
    CHECK(helper.error == EEXIST);
    CHECK_THAT(helper.message, Contains("File exists"));
    REQUIRE(g.rmmod("kms_hello").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("modinfo shows vermagic, license and description", "[hello]")
{
    auto& g = guest();
    auto modinfo = g.run("modinfo kms_hello.ko");
    REQUIRE(modinfo.status == 0);
    CHECK_THAT(modinfo.out, Contains("vermagic:") && Contains(g.release() + " SMP"));
    CHECK_THAT(modinfo.out, Contains("license:") && Contains("GPL"));
    CHECK_THAT(modinfo.out, Contains("description:") && Contains("Hello world"));
    CHECK_THAT(g.run("modinfo -p kms_hello.ko").out, Contains("whom"));
}

TEST_CASE("an init that fails makes insmod fail with its errno, and nothing stays loaded",
          "[hello]")
{
    auto& g = guest();
    auto log = kernel_log_during(g, [&] {
        auto result = g.insmod("kms_fault_initfail");
        CHECK(result.error == ENODEV);
        CHECK_THAT(result.message, Contains("No such device"));
    });
    CHECK_THAT(log, Contains("kms_fault_initfail"));
    auto shell = g.run("insmod kms_fault_initfail.ko");
    CHECK(shell.status != 0);
    CHECK_THAT(shell.err, Contains("No such device"));
    auto loaded = g.loaded_modules();
    CHECK(std::find(loaded.begin(), loaded.end(), "kms_fault_initfail") == loaded.end());
    CHECK_HEALTHY(g);
}

TEST_CASE("kms-hello-1.ko: init_module() runs at insmod of the file, cleanup_module() at rmmod "
          "of kms_hello_1",
          "[hello]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_hello_1"};
    auto loaded = kernel_log_during(g, [&] { REQUIRE(g.run("insmod kms-hello-1.ko").ok()); });
    CHECK_THAT(loaded, Contains("kms_hello_1: Hello world 1."));
    // The notes' `lsmod | grep hello`: the module's name has underscores.
    auto grep = g.run("lsmod | grep hello");
    CHECK(grep.status == 0);
    auto line = words(line_of(grep.out, "kms_hello_1"));
    REQUIRE(line.size() == 3);
    CHECK(line[2] == "0");
    CHECK(exists(g, "/sys/module/kms_hello_1"));

    // rmmod takes the module's name, or the file's, as kmod turns both into
    // the name the kernel knows. The dashed name is not a module.
    CHECK(line_of(g.read("/proc/modules"), "kms-hello-1").empty());
    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.run("rmmod kms_hello_1").ok()); });
    CHECK_THAT(unloaded, Contains("kms_hello_1: Goodbye world 1."));
    CHECK_FALSE(is_loaded(g, "kms_hello_1"));
    REQUIRE(g.run("insmod kms-hello-1.ko && rmmod kms-hello-1.ko").ok());
    CHECK_FALSE(is_loaded(g, "kms_hello_1"));
    CHECK_HEALTHY(g);
}

TEST_CASE("an init that returns -EPERM: insmod says Operation not permitted, nothing is loaded",
          "[hello]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_hello_1"};
    CommandResult refused;
    auto log = kernel_log_during(g, [&] { refused = g.run("insmod kms-hello-1.ko refuse=1"); });
    CHECK(refused.status == 1);
    CHECK(refused.err == "insmod: ERROR: could not insert module kms-hello-1.ko: "
                         "Operation not permitted\n");
    CHECK_THAT(log, Contains("kms_hello_1: refusing to load, as asked (-EPERM)"));
    CHECK_FALSE(is_loaded(g, "kms_hello_1"));
    CHECK_FALSE(exists(g, "/sys/module/kms_hello_1"));

    auto helper = g.insmod("kms-hello-1", "refuse=1");
    CHECK(helper.error == EPERM);
    CHECK_THAT(helper.message, Contains("Operation not permitted"));
    CHECK_HEALTHY(g);
}

TEST_CASE("after init, /proc/kallsyms lists a module's __exit code but not its __init code or "
          "__initdata",
          "[hello]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_hello"};
    UnloadAtEnd unload_1{g, "kms_hello_1"};
    REQUIRE(g.insmod("kms_hello").ok());
    REQUIRE(g.insmod("kms-hello-1").ok());
    // The module's symbols, as "<address> <type> <name>\t[<module>]".
    auto symbols_of = [&](const std::string& module) {
        std::vector<std::string> names;
        for (const auto& line : lines_with(g.read("/proc/kallsyms"), "\t[" + module + "]")) {
            auto fields = words(line);
            REQUIRE(fields.size() == 4);
            names.push_back(fields[2]);
        }
        return names;
    };
    auto has = [](const std::vector<std::string>& names, const std::string& name) {
        return std::find(names.begin(), names.end(), name) != names.end();
    };
    // The file's symbol table has them all: the kernel dropped them.
    auto table = detail::output_of({"nm", built_module("kms_hello").string()});
    CHECK_THAT(table, Contains(" t kms_hello_init\n") && Contains(" d kms_hello_year\n") &&
                          Contains(" t kms_hello_exit\n"));
    auto hello = symbols_of("kms_hello");
    CHECK(has(hello, "kms_hello_exit"));
    CHECK_FALSE(has(hello, "kms_hello_init"));
    CHECK_FALSE(has(hello, "kms_hello_year"));
    // The notes' hello-1 marks nothing __init: its init_module() stays in
    // memory as long as the module does. Its reference to it, __initdata,
    // does not.
    auto hello_1 = symbols_of("kms_hello_1");
    CHECK(has(hello_1, "init_module"));
    CHECK(has(hello_1, "cleanup_module"));
    CHECK(has(hello_1, "refuse"));
    CHECK_FALSE(has(hello_1, "kms_hello_1_init_ref"));
    CHECK_HEALTHY(g);
}

TEST_CASE("lsmod lists the newest module first, one line each under its header, with "
          "/proc/modules' sizes",
          "[hello]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_hello"};
    UnloadAtEnd unload_1{g, "kms_hello_1"};
    REQUIRE(g.run("insmod kms_hello.ko && insmod kms-hello-1.ko").ok());
    auto lsmod = g.run("lsmod");
    REQUIRE(lsmod.ok());
    auto lines = lines_with(lsmod.out, "");
    REQUIRE(lines.size() >= 3);
    CHECK(lines[0] == "Module                  Size  Used by");
    CHECK(words(lines[1])[0] == "kms_hello_1");
    CHECK(words(lines[2])[0] == "kms_hello");

    // lsmod | wc -l: every module of /proc/modules, plus the header.
    auto proc = lines_with(g.read("/proc/modules"), " ");
    CHECK(trimmed(g.run("lsmod | wc -l").out) == std::to_string(proc.size() + 1));
    // lsmod reads /proc/modules: the same modules, in the same order, of
    // the same sizes.
    REQUIRE(lines.size() == proc.size() + 1);
    for (std::size_t i = 0; i < proc.size(); ++i) {
        auto listed = words(lines[i + 1]);
        auto record = words(proc[i]);
        CHECK(listed[0] == record[0]);
        CHECK(listed[1] == record[1]);
    }
    CHECK_HEALTHY(g);
}
