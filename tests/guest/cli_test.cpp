// SPDX-License-Identifier: GPL-2.0
// The `kmsdk` command, run as a user runs it: `kmsdk run` exits with the
// guest command's status, delivers modules and modprobe.d/modules-load.d
// files; a panic or a hang exits 255 with what the console said; bad input
// exits 1 (kmsdk refused) or 2 (bad command line) with a message saying
// what to do; `kmsdk cycle` and `kmsdk kernels` report. After each, no
// process it started (QEMU above all) is left.
#include "guest_suite.hpp"
#include "temp_dir.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <memory>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace kmsdk;
using namespace kmsdk::test;
using kmsdk::detail::TempDir;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

std::string read_file(const std::filesystem::path& path)
{
    std::ifstream in{path, std::ios::binary};
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_file(const std::filesystem::path& path, std::string_view contents)
{
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out << contents;
    REQUIRE(out.good());
}

// Every process whose environment holds `marker`: what a kmsdk run started
// inherits it. A zombie has no environment left, so it does not count.
std::vector<std::string> processes_marked(const std::string& marker)
{
    std::vector<std::string> found;
    std::unique_ptr<DIR, int (*)(DIR*)> proc{::opendir("/proc"), ::closedir};
    if (!proc)
        throw std::runtime_error(fmt::format("cannot list /proc: {}", std::strerror(errno)));
    while (auto* entry = ::readdir(proc.get())) {
        char* end = nullptr;
        auto pid = std::strtol(entry->d_name, &end, 10);
        if (*end != '\0' || pid <= 0)
            continue;
        auto environ = read_file(fmt::format("/proc/{}/environ", pid));
        std::string_view vars{environ};
        bool marked = false;
        while (!vars.empty() && !marked) {
            auto var = vars.substr(0, vars.find('\0'));
            marked = var == marker;
            vars.remove_prefix(std::min(vars.size(), var.size() + 1));
        }
        if (marked)
            found.push_back(fmt::format("{} {}", pid, read_file(fmt::format("/proc/{}/comm", pid))));
    }
    return found;
}

struct Outcome {
    int status = -1;  // exit status; 128 + signal if killed
    std::string out;
    std::string err;
};

// Runs `kmsdk args...` with a deadline, capturing stdout and stderr. Then
// checks that nothing it started is still running.
Outcome run_kmsdk(const std::vector<std::string>& args,
              std::chrono::seconds deadline = std::chrono::seconds(120))
{
    static unsigned runs = 0;
    auto marker = fmt::format("KMSDK_CLI_TEST_RUN={}-{}", ::getpid(), ++runs);
    TempDir dir{"kmsdk-cli-test"};
    auto out_path = dir.path() / "stdout";
    auto err_path = dir.path() / "stderr";

    std::vector<std::string> argv = {KMSDK_CLI_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> arg_ptrs;
    for (auto& arg : argv)
        arg_ptrs.push_back(arg.data());
    arg_ptrs.push_back(nullptr);
    std::vector<std::string> env;
    for (char** var = ::environ; *var; ++var)
        env.emplace_back(*var);
    env.push_back(marker);
    std::vector<char*> env_ptrs;
    for (auto& var : env)
        env_ptrs.push_back(var.data());
    env_ptrs.push_back(nullptr);

    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE((out >= 0 && err >= 0 && null >= 0));
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(null, STDIN_FILENO);
        ::dup2(out, STDOUT_FILENO);
        ::dup2(err, STDERR_FILENO);
        ::execve(arg_ptrs[0], arg_ptrs.data(), env_ptrs.data());
        ::_exit(127);
    }
    ::close(out);
    ::close(err);
    ::close(null);
    REQUIRE(pid > 0);

    int status = 0;
    auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
        auto done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid)
            break;
        if (done < 0)
            throw std::runtime_error(fmt::format("waitpid: {}", std::strerror(errno)));
        if (std::chrono::steady_clock::now() >= until) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            FAIL(fmt::format("kmsdk {} did not finish in {} s; its stderr:\n{}",
                             fmt::join(args, " "), deadline.count(), read_file(err_path)));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }

    Outcome outcome;
    outcome.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    outcome.out = read_file(out_path);
    outcome.err = read_file(err_path);
    INFO("kmsdk " << fmt::format("{}", fmt::join(args, " ")) << "\nstatus " << outcome.status
                  << "\nstdout:\n" << outcome.out << "\nstderr:\n" << outcome.err);

    // What it started dies with it (QEMU gets SIGKILL when its parent
    // ends), but not always before waitpid returns: allow a moment.
    auto left = processes_marked(marker);
    for (auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
         !left.empty() && std::chrono::steady_clock::now() < give_up;
         left = processes_marked(marker))
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(left.empty());
    return outcome;
}

const std::string& release()
{
    return test_kernel().release();
}

}  // namespace

TEST_CASE("kmsdk run prints the command's output and exits with its status", "[cli]")
{
    auto r = run_kmsdk({"run", "--kernel", release(), "-q", "--", "echo hi; exit 3"});
    CHECK(r.status == 3);
    CHECK(r.out == "hi\n");
    CHECK(r.err.empty());

    // Without -q it says what it boots on stderr; stdout is the command's.
    auto loud = run_kmsdk({"run", "--kernel", release(), "--", "uname", "-r"});
    CHECK(loud.status == 0);
    CHECK(loud.out == release() + "\n");
    CHECK_THAT(loud.err, Contains("kmsdk: booting a guest on " + release()));
}

TEST_CASE("kmsdk run -m delivers a module that insmod in the guest loads", "[cli]")
{
    auto r = run_kmsdk({"run", "--kernel", release(), "-q", "-m", built_module("kms_hello").string(),
                    "--", "insmod", "kms_hello.ko", "whom=cli", "&&", "dmesg", "|", "grep", "kms_hello:"});
    // The words after -- are one shell command line, && and | included.
    // (grep rather than tail -1: the kernel may log something of its own
    // right after, such as its TSC recalibration about 2 s into the boot.)
    CHECK(r.status == 0);
    auto lines = lines_with(r.out, "kms_hello: ");
    REQUIRE_FALSE(lines.empty());
    // After the kernel's "loading out-of-tree module taints kernel." and
    // "module verification failed", init's own line.
    CHECK_THAT(lines.back(), Contains("kms_hello: hello, cli"));
}

TEST_CASE("kmsdk run --modprobe-conf and --modules-load load a module with options at boot",
          "[cli]")
{
    TempDir dir{"kmsdk-cli-test"};
    auto conf = dir.path() / "kms_params.conf";
    write_file(conf, "options kms_params number=9080 word=from_modprobe_d\n");
    auto r = run_kmsdk({"run", "--kernel", release(), "-q", "--modprobe-conf", conf.string(),
                    "--modules-load", "kms_params", "-m", built_module("kms_params").string(),
                    "--", "cat /sys/module/kms_params/parameters/number "
                          "/sys/module/kms_params/parameters/word"});
    CHECK(r.status == 0);
    CHECK(r.out == "9080\nfrom_modprobe_d\n");
}

TEST_CASE("kmsdk run exits 255 with the console tail when the guest panics", "[cli]")
{
    // CONFIG_MAGIC_SYSRQ=y on both kernels; 'c' crashes on purpose.
    auto r = run_kmsdk({"run", "--kernel", release(), "-q", "--", "echo c > /proc/sysrq-trigger"});
    CHECK(r.status == 255);
    CHECK_THAT(r.err, Contains("`echo c > /proc/sysrq-trigger`: the guest died"));
    CHECK_THAT(r.err, Contains("Console tail:"));
    // QEMU powered off by itself: panic=-1 reboots at once, and -no-reboot
    // turns that into an exit.
    CHECK_THAT(r.err, Contains("the guest died (QEMU exited with status 0)"));
    // The tail ends with the panic's last words: the end of its stack and
    // the kernel offset that panic() prints for debuggers. (The headline,
    // "Kernel panic - not syncing: sysrq triggered crash", is 30 to 40
    // lines up, depending on how many stale "? " frames the stack dump
    // shows: sometimes inside the 30-line tail, sometimes not.)
    CHECK_THAT(r.err, Contains(" </TASK>") && Contains("Kernel Offset: disabled"));
}

TEST_CASE("kmsdk run exits 255 naming the command when it outlives --timeout", "[cli]")
{
    auto r = run_kmsdk({"run", "--kernel", release(), "-q", "--timeout", "3", "--", "sleep", "100"});
    CHECK(r.status == 255);
    CHECK_THAT(r.err, Contains("`sleep 100` did not finish within 3.0 s"));
}

TEST_CASE("kmsdk run exits 1 and says how to fetch a kernel that is not cached", "[cli]")
{
    auto r = run_kmsdk({"run", "--kernel", "9.9", "--", "true"});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Contains("no cached kernel matches '9.9'"));
    CHECK_THAT(r.err, Contains("kmsdk kernels fetch 9.9"));
}

TEST_CASE("kmsdk run exits 1 at once with QEMU's own words when it refuses a device", "[cli]")
{
    auto r = run_kmsdk({"run", "--kernel", release(), "-q", "--device", "kms-no-such-device", "--",
                        "true"});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Contains("QEMU refused to start the guest") &&
                          Contains("'kms-no-such-device' is not a valid device model name"));
}

TEST_CASE("kmsdk run exits 1 naming a .ko that is not a kernel module", "[cli]")
{
    TempDir dir{"kmsdk-cli-test"};
    auto garbage = dir.path() / "x.ko";
    std::string bytes(4096, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<char>((i * 7919 + 13) % 251);
    write_file(garbage, bytes);
    auto r = run_kmsdk({"run", "--kernel", release(), "-q", "-m", garbage.string(), "--", "true"});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Contains(garbage.string()) && Contains("not a valid kernel module"));
}

TEST_CASE("kmsdk --help exits 0 with the usage; an unknown option exits 2", "[cli]")
{
    auto help = run_kmsdk({"--help"});
    CHECK(help.status == 0);
    CHECK_THAT(help.out, Contains("Usage:"));
    for (auto command : {"run", "shell", "cycle", "kernels"})
        CHECK_THAT(help.out, Contains(command));
    CHECK_THAT(help.out, Contains("Exit codes:"));

    auto run_help = run_kmsdk({"run", "--help"});
    CHECK(run_help.status == 0);
    CHECK_THAT(run_help.out, Contains("--modprobe-conf") && Contains("--timeout"));

    auto unknown = run_kmsdk({"run", "--no-such-option", "--", "true"});
    CHECK(unknown.status == 2);
    CHECK_THAT(unknown.err, Contains("--no-such-option"));
    CHECK_THAT(unknown.err, Contains("kmsdk --help"));

    auto nothing = run_kmsdk({});
    CHECK(nothing.status == 2);
}

TEST_CASE("kmsdk cycle loads and unloads a module N times and reports median and p95", "[cli]")
{
    auto r = run_kmsdk({"cycle", built_module("kms_hello").string(), "-n", "20", "--kernel",
                    release(), "-q"});
    CHECK(r.status == 0);
    CHECK_THAT(r.out, StartsWith("20 insmod+rmmod cycles of kms_hello on " + release()));
    auto lines = lines_with(r.out, "median");
    CHECK(lines.size() == 2);
    for (const auto& line : lines)
        CHECK_THAT(line, Contains(" ms, p95 ") && Contains(" ms"));
}

TEST_CASE("kmsdk kernels lists every cached release", "[cli]")
{
    auto r = run_kmsdk({"kernels"});
    CHECK(r.status == 0);
    auto cached = Kernel::list();
    CHECK(cached.size() >= 2);
    for (const auto& kernel : cached) {
        auto lines = lines_with(r.out, kernel.release());
        REQUIRE(lines.size() == 1);
        CHECK_THAT(lines[0], StartsWith(kernel.release() + " ") && Contains(kernel.series()));
    }
}
