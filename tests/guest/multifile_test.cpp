// SPDX-License-Identifier: GPL-2.0
// kms_multifile in a real kernel: start.c and stop.c, compiled apart and
// linked by "kms_multifile-objs := start.o stop.o" into one module. Code of
// both objects runs (init from start.c, exit from stop.c calling back into
// start.c), the kernel knows one module, and /proc/kallsyms lists the
// symbols of both objects under its name while it is loaded.
#include "guest_suite.hpp"

#include <iterator>
#include <map>
#include <regex>
#include <sstream>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;

namespace {

Guest& guest()
{
    return suite_guest([] { return with_built_modules({"kms_multifile"}); });
}

bool contains_match(const std::string& text, const std::string& pattern)
{
    return std::regex_search(text, std::regex{pattern});
}

// The module's symbols in /proc/kallsyms, "address type name\t[module]",
// as {name, type}.
std::map<std::string, std::string> module_symbols(Guest& g)
{
    auto grep = g.run("grep '\\[kms_multifile\\]$' /proc/kallsyms");
    std::map<std::string, std::string> symbols;
    for (const auto& line : lines_with(grep.out, "[kms_multifile]")) {
        auto fields = words(line);
        if (fields.size() == 4)
            symbols[fields[2]] = fields[1];
    }
    return symbols;
}

}  // namespace

TEST_CASE("init from start.c and exit from stop.c both run, and exit calls into start.c",
          "[multifile]")
{
    auto& g = guest();
    auto loaded = kernel_log_during(g, [&] {
        REQUIRE(g.run("insmod kms_multifile.ko").status == 0);
    });
    CHECK_THAT(loaded, Contains("kms_multifile: init in start.c"));

    auto unloaded = kernel_log_during(g, [&] {
        REQUIRE(g.run("rmmod kms_multifile").status == 0);
    });
    // The time comes from kms_multifile_uptime_ms(), defined in start.c:
    // the call from stop.c was resolved when the two objects were linked.
    CHECK(contains_match(unloaded,
                         R"(kms_multifile: exit in stop\.c, [0-9]+ ms after init in start\.c)"));
    CHECK_HEALTHY(g);
}

TEST_CASE("the two objects make one module: one .ko, one modinfo, one entry in lsmod",
          "[multifile]")
{
    auto& g = guest();
    // Only the linked module was built and staged, not start.ko or stop.ko.
    auto extra = g.run("ls");
    REQUIRE(extra.status == 0);
    CHECK(words(extra.out) == std::vector<std::string>{"kms_multifile.ko"});
    CHECK_THAT(g.run("cat ../modules.dep").out, Contains("extra/kms_multifile.ko:"));

    // The metadata is in start.c only, once.
    auto modinfo = g.run("modinfo kms_multifile.ko");
    REQUIRE(modinfo.status == 0);
    CHECK(lines_with(modinfo.out, "description:").size() == 1);
    CHECK_THAT(modinfo.out, Contains("One module built from two source files"));
    CHECK(lines_with(modinfo.out, "license:").size() == 1);
    CHECK(lines_with(modinfo.out, "vermagic:").size() == 1);

    REQUIRE(g.insmod("kms_multifile").ok());
    auto lsmod = g.run("lsmod");
    CHECK(lines_with(lsmod.out, "kms_multifile").size() == 1);
    CHECK(lines_with(lsmod.out, "start").empty());
    CHECK(lines_with(lsmod.out, "stop").empty());
    REQUIRE(g.rmmod("kms_multifile").ok());
    CHECK_HEALTHY(g);
}

TEST_CASE("/proc/kallsyms lists symbols of both objects under the module's name while it is "
          "loaded",
          "[multifile]")
{
    auto& g = guest();
    REQUIRE(g.insmod("kms_multifile").ok());
    auto symbols = module_symbols(g);
    // start.c: a function (t: text, local to the module) and a variable
    // (b: bss).
    CHECK(symbols["kms_multifile_uptime_ms"] == "t");
    CHECK(symbols["kms_multifile_loaded_at"] == "b");
    // stop.c: the exit function.
    CHECK(symbols["kms_multifile_exit"] == "t");
    // The __init function's code was freed once init returned, its symbol
    // with it.
    CHECK(symbols.count("kms_multifile_init") == 0);

    REQUIRE(g.rmmod("kms_multifile").ok());
    CHECK(module_symbols(g).empty());
    CHECK_HEALTHY(g);
}
