// SPDX-License-Identifier: GPL-2.0
// The course labs, checked as a student checks them (kmsdk lab start,
// kmsdk lab check): every lab's untouched skeleton builds and scores 0, its
// reference solution scores full points, and a module broken in the ways
// students break them (a build error, an Oops) costs points with the
// compiler's or the kernel's words, never the checker.
#include "guest_suite.hpp"
#include "kmsdk_cli.hpp"

#include <fmt/format.h>

#include <fstream>
#include <regex>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;

namespace fs = std::filesystem;

namespace {

const fs::path labs_source = KMSDK_TEST_LABS_DIR;

// A folder of the test's, removed at the end of the case.
struct Folder {
    fs::path path = fs::temp_directory_path() / fmt::format("kmsdk-labs-test-{}-{}", ::getpid(), counter()++);
    ~Folder() { fs::remove_all(path); }
    static int& counter()
    {
        static int next = 0;
        return next;
    }
};

Outcome check(const fs::path& dir, const std::string& lab = "")
{
    std::vector<std::string> args = {"lab", "check", "-k", test_kernel().release(), dir.string()};
    if (!lab.empty())
        args.insert(args.end(), {"--lab", lab});
    return run_kmsdk(args, KmsdkRun{.deadline = std::chrono::seconds{300}});
}

// How many "task N: ...: earned/points" lines the report has.
std::size_t task_lines(const std::string& report)
{
    std::regex line{R"(^task \d+: .*: \d+/\d+$)", std::regex::multiline};
    return static_cast<std::size_t>(std::distance(std::sregex_iterator(report.begin(), report.end(), line),
                                                  std::sregex_iterator()));
}

}  // namespace

TEST_CASE("kmsdk lab list names the four labs with their points", "[labs]")
{
    auto r = run_kmsdk({"lab", "list"});
    INFO(describe(r));
    CHECK(r.status == 0);
    for (const char* lab : {"params", "chardev", "stacking", "edu"})
        CHECK_THAT(r.out, Contains(std::string{lab}) && Contains("points"));
}

TEST_CASE("a lab's untouched skeleton builds and scores 0; its solution scores full points", "[labs]")
{
    auto lab = GENERATE(as<std::string>{}, "params", "chardev", "stacking", "edu");
    INFO("lab " << lab);

    Folder student;
    auto started = run_kmsdk({"lab", "start", lab, student.path.string()});
    INFO(describe(started));
    REQUIRE(started.status == 0);
    CHECK(fs::exists(student.path / "README.md"));
    CHECK_THAT(read_file(student.path / ".kmsdk-lab"), Contains("lab=" + lab));

    auto skeleton = check(student.path);
    INFO(describe(skeleton));
    CHECK(skeleton.status == 1);
    CHECK_THAT(skeleton.out, EndsWith(" points\n"));
    CHECK_THAT(skeleton.out, Contains("\n0/10 points\n"));
    CHECK(task_lines(skeleton.out) >= 3);
    // Built, not refused by the compiler.
    CHECK_THAT(skeleton.out, !Contains("does not build"));

    Folder solution;
    fs::copy(labs_source / lab / "solution", solution.path, fs::copy_options::recursive);
    auto solved = check(solution.path, lab);
    INFO(describe(solved));
    CHECK(solved.status == 0);
    CHECK_THAT(solved.out, Contains("\n10/10 points\n"));
    CHECK(task_lines(solved.out) == task_lines(skeleton.out));
}

TEST_CASE("a module that does not compile scores 0 with the compiler's words about the student's file",
          "[labs]")
{
    Folder student;
    REQUIRE(run_kmsdk({"lab", "start", "params", student.path.string()}).status == 0);
    std::ofstream{student.path / "kms_lab_params.c", std::ios::app} << "\nthis is not C;\n";
    auto r = check(student.path);
    INFO(describe(r));
    CHECK(r.status == 1);
    CHECK_THAT(r.out, Contains("does not build for"));
    CHECK_THAT(r.out, Contains((student.path / "kms_lab_params.c").string() + ":"));
    CHECK_THAT(r.out, Contains("error:"));
    CHECK_THAT(r.out, EndsWith("0/10 points\n"));
}

TEST_CASE("an Oops in the student's module costs its tasks, names the function, and the checker goes on",
          "[labs]")
{
    Folder student;
    fs::copy(labs_source / "chardev" / "solution", student.path, fs::copy_options::recursive);
    // The write task's handler dereferences NULL; the other tasks never
    // write, and keep their points on a fresh guest.
    auto source = student.path / "kms_lab_chardev.c";
    auto text = read_file(source);
    std::regex write_handler{R"((static ssize_t \w+_write\([^)]*\)\s*\{))"};
    REQUIRE(std::regex_search(text, write_handler));
    text = std::regex_replace(text, write_handler, "$1\n\t*(volatile int *)0 = 1;", std::regex_constants::format_first_only);
    std::ofstream{source} << text;

    auto r = check(student.path, "chardev");
    INFO(describe(r));
    CHECK(r.status == 1);
    CHECK_THAT(r.out, Contains("the kernel reported a problem"));
    CHECK_THAT(r.out, Contains("_write"));
    CHECK(task_lines(r.out) == 4);
    // The Oops cost the write task alone: the tasks after it ran on a
    // fresh guest and kept their points.
    CHECK_THAT(r.out, Contains("task 2: ") && Contains(": 0/3\n"));
    CHECK_THAT(r.out, Contains("\n7/10 points\n"));
}

TEST_CASE("lab start and lab check refuse what they cannot use, saying why", "[labs]")
{
    Folder taken;
    fs::create_directories(taken.path);
    std::ofstream{taken.path / "notes.txt"} << "mine\n";
    auto busy = run_kmsdk({"lab", "start", "params", taken.path.string()});
    CHECK(busy.status == 1);
    CHECK_THAT(busy.err, Contains("already exists and is not an empty folder"));

    auto unknown = run_kmsdk({"lab", "start", "no-such-lab", (taken.path / "x").string()});
    CHECK(unknown.status == 1);
    CHECK_THAT(unknown.err, Contains("there is no lab 'no-such-lab'") && Contains("params"));

    auto unmarked = run_kmsdk({"lab", "check", taken.path.string()});
    CHECK(unmarked.status == 1);
    CHECK_THAT(unmarked.err, Contains("--lab"));
}
