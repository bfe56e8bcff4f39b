// SPDX-License-Identifier: GPL-2.0
// kms_params in a real kernel: a value for every type of parameter, given to
// kmod's insmod, to the agent's insmod, and to modprobe through
// /etc/modprobe.d; what /sys/module/kms_params/parameters shows and lets root
// change; the values the kernel refuses and what it logs about them;
// module_param_named's two names; and a module that /etc/modules-load.d
// loads at every boot with its options.
#include "guest_suite.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <sstream>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

const std::string parameters = "/sys/module/kms_params/parameters/";

// The options of the README's example; insmod never reads them.
const std::string modprobe_options = "options kms_params number=7 values=9,8\n";

Guest& guest()
{
    return suite_guest([] {
        return with_built_modules({"kms_params"}).modprobe_conf("kms_params", modprobe_options);
    });
}

// A parameter's value as its sysfs file shows it, without the newline.
std::string param(Guest& g, const std::string& name)
{
    auto value = g.read(parameters + name);
    if (!value.empty() && value.back() == '\n')
        value.pop_back();
    return value;
}

// "name:value" lines, as modinfo -p prints "name:description (type)".
std::map<std::string, std::string> name_value_lines(const std::string& text, char separator)
{
    std::map<std::string, std::string> found;
    std::istringstream lines{text};
    for (std::string line; std::getline(lines, line);)
        if (auto at = line.find(separator); at != std::string::npos)
            found[line.substr(0, at)] = line.substr(at + 1);
    return found;
}

// The sysfs files of the parameters and their modes, e.g. {"level", "644"}.
std::map<std::string, std::string> parameter_files(Guest& g)
{
    auto stat = g.run("cd " + parameters + " && stat -c '%n %a' *");
    REQUIRE(stat.status == 0);
    return name_value_lines(stat.out, ' ');
}

}  // namespace

TEST_CASE("insmod gives a parameter of every type its value, and sysfs shows it", "[params]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_params"};
    // sh removes the single quotes; insmod joins its arguments with
    // spaces, so the kernel gets word="hello world" and its parser keeps
    // what is inside the double quotes as one value.
    auto log = kernel_log_during(g, [&] {
        auto insmod = g.run(
            "insmod kms_params.ko number=9080 'word=\"hello world\"' small=-3 mask=4096 "
            "big=123456789 values=5,6,7 verbose=1 debug=1 level=6");
        REQUIRE(insmod.status == 0);
    });

    CHECK(param(g, "number") == "9080");
    CHECK(param(g, "word") == "hello world");
    CHECK(param(g, "small") == "-3");
    CHECK(param(g, "mask") == "4096");
    CHECK(param(g, "values") == "5,6,7");  // the elements given, comma-separated
    CHECK(param(g, "verbose") == "Y");     // a bool given as 1 reads back as Y
    CHECK(param(g, "debug") == "1");
    CHECK(param(g, "level") == "6");

    // Init saw every value, big's too, though big has no file.
    CHECK_THAT(log, Contains("kms_params: number=9080"));
    CHECK_THAT(log, Contains("kms_params: word=hello world"));
    CHECK_THAT(log, Contains("kms_params: small=-3"));
    CHECK_THAT(log, Contains("kms_params: mask=4096"));
    CHECK_THAT(log, Contains("kms_params: big=123456789"));
    CHECK_THAT(log, Contains("kms_params: values=5,6,7 (3 of 4)"));
    CHECK_THAT(log, Contains("kms_params: verbose=Y"));
    CHECK_THAT(log, Contains("kms_params: debug=1"));
    CHECK_THAT(log, Contains("kms_params: level=6"));
    // Parameters are set before init runs: the setter's line comes first.
    auto set = log.find("kms_params: level set to 6");
    REQUIRE(set != std::string::npos);
    CHECK(set < log.find("kms_params: number=9080"));

    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.run("rmmod kms_params").status == 0); });
    CHECK_THAT(unloaded, Contains("kms_params: unloading with verbose=Y debug=1 level=6"));
    CHECK_HEALTHY(g);
}

TEST_CASE("the notes' `insmod hello-5.ko myint=5 myintarray=-1,-1`: an int array takes "
          "negative elements",
          "[params]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_params"};
    // kms_params' int is `number` and its int array `values`, the notes'
    // myint and myintarray.
    auto log = kernel_log_during(
        g, [&] { REQUIRE(g.run("insmod kms_params.ko number=5 values=-1,-1").ok()); });
    CHECK(param(g, "number") == "5");
    CHECK(param(g, "values") == "-1,-1");
    CHECK_THAT(log, Contains("kms_params: number=5"));
    CHECK_THAT(log, Contains("kms_params: values=-1,-1 (2 of 4)"));
    REQUIRE(g.run("rmmod kms_params").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("each parameter's sysfs file has the mode the module gave it, and mode 0 has none",
          "[params]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_params"};
    REQUIRE(g.insmod("kms_params").ok());
    const std::map<std::string, std::string> expected{
        {"number", "444"}, {"verbose", "644"}, {"word", "444"},  {"small", "444"},
        {"mask", "444"},   {"values", "444"},  {"debug", "600"}, {"level", "644"},
    };
    CHECK(parameter_files(g) == expected);  // no file for big, declared with 0
    CHECK(g.run("test -e " + parameters + "big").status != 0);
    REQUIRE(g.rmmod("kms_params").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("Guest::insmod passes its parameters as one string, double quotes included",
          "[params]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_params"};
    // A bool given without a value is set: verbose alone means Y.
    auto log = kernel_log_during(g, [&] {
        auto result = g.insmod("kms_params", R"(word="hello world" values=3,4 verbose)");
        REQUIRE(result.ok());
    });
    CHECK(param(g, "word") == "hello world");
    CHECK(param(g, "values") == "3,4");
    CHECK(param(g, "verbose") == "Y");
    CHECK_THAT(log, Contains("kms_params: values=3,4 (2 of 4)"));
    REQUIRE(g.rmmod("kms_params").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("without double quotes a space ends a string, and the rest is an unknown parameter",
          "[params]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_params"};
    auto log = kernel_log_during(g, [&] {
        REQUIRE(g.run("insmod kms_params.ko word=hello world").status == 0);
    });
    CHECK(param(g, "word") == "hello");
    CHECK_THAT(log, Contains("kms_params: unknown parameter 'world' ignored"));
    REQUIRE(g.rmmod("kms_params").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("root changes a 0644 or 0600 parameter at run time, and the module sees the new value",
          "[params]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_params"};
    REQUIRE(g.insmod("kms_params").ok());
    REQUIRE(param(g, "level") == "4");

    // level's own setter runs for each write, as echo from a shell or as
    // one write() by the agent.
    auto by_shell = kernel_log_during(g, [&] {
        REQUIRE(g.run("echo 5 > " + parameters + "level").status == 0);
    });
    CHECK_THAT(by_shell, Contains("kms_params: level set to 5"));
    CHECK(param(g, "level") == "5");
    auto by_write = kernel_log_during(g, [&] { g.write(parameters + "level", "2"); });
    CHECK_THAT(by_write, Contains("kms_params: level set to 2"));
    CHECK(param(g, "level") == "2");

    // Plain module_param() variables change silently: the module reads them.
    g.write(parameters + "verbose", "Y");
    CHECK(param(g, "verbose") == "Y");
    REQUIRE(g.run("echo 3 > " + parameters + "debug").status == 0);  // 0600: root may write
    CHECK(param(g, "debug") == "3");

    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.rmmod("kms_params").ok()); });
    CHECK_THAT(unloaded, Contains("kms_params: unloading with verbose=Y debug=3 level=2"));
    CHECK_HEALTHY(g);
}

TEST_CASE("level's setter refuses a value out of range written at run time", "[params]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_params"};
    REQUIRE(g.insmod("kms_params", "level=3").ok());

    auto log = kernel_log_during(g, [&] {
        auto echo = g.run("echo 9 > " + parameters + "level");
        CHECK(echo.status != 0);
        // dash, the guest's sh as Debian's, says no more than that the
        // write failed; the errno is the setter's -EINVAL.
        CHECK(echo.err == "/bin/sh: 1: echo: echo: I/O error\n");
        CHECK_THROWS_WITH(g.write(parameters + "level", "9"), Contains("Invalid argument"));
    });
    CHECK(param(g, "level") == "3");
    CHECK(lines_with(log, "level set to").empty());

    auto unloaded = kernel_log_during(g, [&] { REQUIRE(g.rmmod("kms_params").ok()); });
    CHECK_THAT(unloaded, Contains("level=3"));
    CHECK_HEALTHY(g);
}

TEST_CASE("a 0444 parameter cannot be written, not even by root", "[params]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_params"};
    REQUIRE(g.insmod("kms_params", "number=5").ok());
    REQUIRE(g.run("id -u").out == "0\n");

    // Root passes the permission check of ordinary files; sysfs refuses
    // to open for writing a file whose mode has no write bit at all.
    auto echo = g.run("echo 3 > " + parameters + "number");
    CHECK(echo.status != 0);
    CHECK_THAT(echo.err, Contains("Permission denied"));
    CHECK_THROWS_WITH(g.write(parameters + "number", "3"), Contains("Permission denied"));
    CHECK(param(g, "number") == "5");

    REQUIRE(g.rmmod("kms_params").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("a value a parameter cannot take makes insmod fail, dmesg says why, "
          "and nothing stays loaded",
          "[params]")
{
    struct Refusal {
        std::string params;
        int error;
        std::vector<std::string> logged;
    };
    const std::vector<Refusal> refusals{
        {"number=abc", EINVAL, {"kms_params: `abc' invalid for parameter `number'"}},
        // A short holds -32768 to 32767: the kernel passes on kstrtos16's ERANGE.
        {"small=40000", ERANGE, {"kms_params: `40000' invalid for parameter `small'"}},
        // The module's setter refuses all but 0 to 7.
        {"level=9", EINVAL, {"kms_params: `9' invalid for parameter `level'"}},
        {"values=1,2,3,4,5",
         EINVAL,
         {"values: can only take 4 arguments", "kms_params: `1' invalid for parameter `values'"}},
        // Only a bool may go without a value.
        {"word", EINVAL, {"kms_params: `' invalid for parameter `word'"}},
    };

    auto& g = guest();
    UnloadAtEnd unload{g, "kms_params"};
    for (const auto& refusal : refusals) {
        INFO("insmod kms_params.ko " << refusal.params);
        // kmod's insmod words EINVAL from finit_module as "Invalid
        // parameters", and the agent words it as kmod does.
        const std::string said =
            refusal.error == EINVAL ? "Invalid parameters" : "Numerical result out of range";
        auto by_insmod = kernel_log_during(g, [&] {
            auto insmod = g.run("insmod kms_params.ko " + refusal.params);
            CHECK(insmod.status != 0);
            CHECK(insmod.err == "insmod: ERROR: could not insert module kms_params.ko: " + said +
                                    "\n");
        });
        auto by_agent = kernel_log_during(g, [&] {
            auto result = g.insmod("kms_params", refusal.params);
            CHECK(result.error == refusal.error);
            CHECK_THAT(result.message,
                       Contains(refusal.error == EINVAL ? "Invalid parameters"
                                                        : "Numerical result out of range"));
        });
        // Each refusal once: kmod's insmod asks the kernel once.
        for (const auto& line : refusal.logged) {
            CHECK(lines_with(by_insmod, line).size() == 1);
            CHECK(lines_with(by_agent, line).size() == 1);
        }
        // Init never ran, and the module is gone.
        CHECK(lines_with(by_insmod + by_agent, "kms_params: number=").empty());
        CHECK_FALSE(is_loaded(g, "kms_params"));
        CHECK(g.run("test -e /sys/module/kms_params").status != 0);
    }
    CHECK_HEALTHY(g);
}

TEST_CASE("the seed's `number =9080 word = \"Module_params\"` fails: spaces around = split "
          "names from values",
          "[params]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_params"};
    // The kernel gets "number =9080 word = Module_params": number and word
    // without a value, and three names it does not know.
    auto log = kernel_log_during(g, [&] {
        auto insmod = g.run(R"(insmod kms_params.ko number =9080 word = "Module_params")");
        CHECK(insmod.status != 0);
        CHECK(insmod.err ==
              "insmod: ERROR: could not insert module kms_params.ko: Invalid parameters\n");
    });
    CHECK_THAT(log, Contains("kms_params: `' invalid for parameter `number'"));
    CHECK_THAT(log, Contains("kms_params: unknown parameter '=9080' ignored"));
    CHECK_THAT(log, Contains("kms_params: `' invalid for parameter `word'"));
    CHECK_THAT(log, Contains("kms_params: unknown parameter '=' ignored"));
    CHECK_THAT(log, Contains("kms_params: unknown parameter 'Module_params' ignored"));
    CHECK_FALSE(is_loaded(g, "kms_params"));

    // Without the spaces it loads.
    REQUIRE(g.run(R"(insmod kms_params.ko number=9080 word="Module_params")").status == 0);
    CHECK(param(g, "number") == "9080");
    CHECK(param(g, "word") == "Module_params");
    REQUIRE(g.rmmod("kms_params").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("an unknown parameter is only warned about: the module loads", "[params]")
{
    // The kernel ignores names a module does not declare (both 6.1 and
    // 6.12): insmod succeeds and dmesg has a warning.
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_params"};
    auto by_insmod = kernel_log_during(g, [&] {
        REQUIRE(g.run("insmod kms_params.ko nosuch=1 number=8").status == 0);
    });
    CHECK_THAT(by_insmod, Contains("kms_params: unknown parameter 'nosuch' ignored"));
    CHECK(param(g, "number") == "8");
    CHECK(g.run("test -e " + parameters + "nosuch").status != 0);
    REQUIRE(g.rmmod("kms_params").ok());

    auto by_agent = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_params", "nosuch=1").ok()); });
    CHECK_THAT(by_agent, Contains("kms_params: unknown parameter 'nosuch' ignored"));
    CHECK(is_loaded(g, "kms_params"));
    REQUIRE(g.rmmod("kms_params").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("module_param_named: the parameter is debug, its variable's name kms_params_debug "
          "is unknown",
          "[params]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_params"};
    auto named = kernel_log_during(g, [&] { REQUIRE(g.insmod("kms_params", "debug=1").ok()); });
    CHECK_THAT(named, Contains("kms_params: debug=1"));
    CHECK(param(g, "debug") == "1");
    CHECK(g.run("test -e " + parameters + "kms_params_debug").status != 0);
    REQUIRE(g.rmmod("kms_params").ok());

    auto variable = kernel_log_during(g, [&] {
        REQUIRE(g.run("insmod kms_params.ko kms_params_debug=1").status == 0);
    });
    CHECK_THAT(variable, Contains("kms_params: unknown parameter 'kms_params_debug' ignored"));
    CHECK_THAT(variable, Contains("kms_params: debug=0"));
    CHECK(param(g, "debug") == "0");
    REQUIRE(g.rmmod("kms_params").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("modinfo -p lists every parameter with its description and type", "[params]")
{
    auto& g = guest();
    auto modinfo = g.run("modinfo -p kms_params.ko");
    REQUIRE(modinfo.status == 0);
    // Nine parameters, big (no sysfs file) and level (module_param_cb) too;
    // kmod adds the type module_param recorded (parmtype=) after each.
    const std::map<std::string, std::string> expected{
        {"number", "An int (default 42) (int)"},
        {"verbose", "A bool (default N) (bool)"},
        {"word", "A string (default \"kmsdk\") (charp)"},
        {"small", "A short (default -7) (short)"},
        {"mask", "An unsigned long (default 255) (ulong)"},
        {"big", "A long, given at load only (default -100000) (long)"},
        {"values", "Up to 4 comma-separated ints (default 1,2) (array of int)"},
        {"debug", "An int named apart from its variable (default 0) (int)"},
        {"level", "An int from 0 to 7; others are refused (default 4) (int)"},
    };
    CHECK(name_value_lines(modinfo.out, ':') == expected);
    // The full listing has one parm: line for each.
    CHECK(lines_with(g.run("modinfo kms_params.ko").out, "parm:").size() == expected.size());
}

TEST_CASE("modprobe applies the options in /etc/modprobe.d, insmod does not read them",
          "[params]")
{
    auto& g = guest();
    UnloadAtEnd unload{g, "kms_params"};
    REQUIRE(g.read("/etc/modprobe.d/kms_params.conf") == modprobe_options);

    auto log = kernel_log_during(g, [&] { REQUIRE(g.modprobe("kms_params").ok()); });
    CHECK(param(g, "number") == "7");
    CHECK(param(g, "values") == "9,8");
    CHECK_THAT(log, Contains("kms_params: values=9,8 (2 of 4)"));
    REQUIRE(g.modprobe("-r kms_params").ok());
    CHECK_FALSE(is_loaded(g, "kms_params"));

    // Options on the command line come after the configured ones, and win.
    REQUIRE(g.modprobe("kms_params number=8").ok());
    CHECK(param(g, "number") == "8");
    CHECK(param(g, "values") == "9,8");
    REQUIRE(g.modprobe("-r kms_params").ok());

    REQUIRE(g.run("insmod kms_params.ko").status == 0);
    CHECK(param(g, "number") == "42");
    CHECK(param(g, "values") == "1,2");
    REQUIRE(g.rmmod("kms_params").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("a module listed in /etc/modules-load.d is loaded at boot with its modprobe.d options, "
          "and again after a reboot",
          "[params]")
{
    // A guest of its own: what it stages is read at boot.
    Guest booted{GuestOptions{}
                     .kernel(test_kernel().release())
                     .module(built_module("kms_params"))
                     .modprobe_conf("kms_params", "options kms_params number=7 values=3,2,1\n")
                     .modules_load("kms_params")};

    auto check_loaded_at_boot = [&] {
        CHECK_THAT(booted.boot_stats().boot_pass_log, Contains("modprobe kms_params"));
        REQUIRE(is_loaded(booted, "kms_params"));
        CHECK(param(booted, "number") == "7");
        CHECK(param(booted, "values") == "3,2,1");
        auto log = booted.dmesg();
        CHECK(lines_with(log, "kms_params: number=7").size() == 1);
        CHECK_THAT(log, Contains("kms_params: values=3,2,1 (3 of 4)"));
    };
    CHECK_THAT(booted.run("cat /etc/modules-load.d/*.conf").out, Contains("kms_params"));
    check_loaded_at_boot();
    CHECK_NOTHROW(booted.check_healthy());

    booted.reboot();
    check_loaded_at_boot();
    CHECK_NOTHROW(booted.check_healthy());
}
