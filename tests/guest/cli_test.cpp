// SPDX-License-Identifier: GPL-2.0
// The `kmsdk` command, run as a user runs it: `kmsdk run` exits with the
// guest command's status, delivers modules and modprobe.d/modules-load.d
// files; a panic or a hang exits 255 with what the console said; bad input
// exits 1 (kmsdk refused) or 2 (bad command line) with a message saying
// what to do; `kmsdk cycle` and `kmsdk kernels` report; `kmsdk snapshots`
// lists and clears the saved guests that runs restore, and `--cold` boots
// without one. After each, no process it started (QEMU above all) is left.
#include "guest_suite.hpp"
#include "kmsdk_cli.hpp"

#include "kmsdk/cache.hpp"
#include "temp_dir.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <optional>

using namespace kmsdk;
using namespace kmsdk::test;
using kmsdk::detail::TempDir;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

const std::string& release()
{
    return test_kernel().release();
}

// A snapshot folder of one test case's own ($KMSDK_SNAPSHOT_DIR for the
// kmsdk it runs, with KMSDK_COLD cleared), so that what the case finds
// there is what its own runs saved, whatever else runs meanwhile.
class PrivateSnapshots {
public:
    std::vector<std::string> env() const
    {
        return {"KMSDK_SNAPSHOT_DIR=" + root_.path().string(), "KMSDK_COLD="};
    }
    // Where the test kernel's snapshots go.
    std::filesystem::path folder() const { return root_.path() / release(); }
    // Every file in it: snapshots, their locks, unfinished saves.
    std::vector<std::filesystem::path> files() const
    {
        std::vector<std::filesystem::path> found;
        std::error_code error;
        for (const auto& entry : std::filesystem::directory_iterator{folder(), error})
            found.push_back(entry.path());
        return found;
    }
    std::vector<std::filesystem::path> snapshots() const
    {
        auto found = files();
        std::erase_if(found, [](const auto& path) { return path.extension() != ".snap"; });
        return found;
    }

private:
    TempDir root_{"kmsdk-cli-snapshots"};
};

// A snapshot's 4 KiB text header, without reading its stream.
std::string snapshot_header(const std::filesystem::path& snapshot)
{
    std::ifstream in{snapshot, std::ios::binary};
    std::string header(4096, '\0');
    in.read(header.data(), static_cast<std::streamsize>(header.size()));
    header.resize(static_cast<std::size_t>(in.gcount()));
    return header;
}

// The key a snapshot's header names ("key <hex>" on its second line).
std::string snapshot_key(const std::filesystem::path& snapshot)
{
    auto header = snapshot_header(snapshot);
    auto at = header.find("\nkey ");
    REQUIRE(at != std::string::npos);
    at += 5;
    return header.substr(at, header.find('\n', at) - at);
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
    // Restored or booted, depending on what other runs saved: it says which.
    CHECK_THAT(loud.err, Contains("kmsdk: starting a guest on " + release() + "...\n"));
    CHECK_THAT(loud.err, Contains("kmsdk: guest " + release() + " ") && Contains("; ready in "));
}

TEST_CASE("kmsdk run -m delivers a module that insmod in the guest loads", "[cli]")
{
    auto r = run_kmsdk({"run", "--kernel", release(), "-q", "-m", built_module("kms_hello").string(),
                        "--", "insmod kms_hello.ko whom=cli && dmesg | grep kms_hello:"});
    // One word after -- is a shell command line, && and | included.
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
    write_file_atomically(conf, "options kms_params number=9080 word=from_modprobe_d\n");
    const std::string show_both =
        "cat /sys/module/kms_params/parameters/number /sys/module/kms_params/parameters/word";
    auto r = run_kmsdk({"run", "--kernel", release(), "-q", "--modprobe-conf", conf.string(),
                    "--modules-load", "kms_params", "-m", built_module("kms_params").string(),
                    "--", show_both});
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
    auto r = run_kmsdk({"run", "--kernel", release(), "-q", "--timeout", "1", "--", "sleep", "100"});
    CHECK(r.status == 255);
    CHECK_THAT(r.err, Contains("`sleep 100` did not finish within 1.0 s"));
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
    CHECK_THAT(r.err, Contains("guest cannot start: QEMU exited with status 1") &&
                          Contains("'kms-no-such-device' is not a valid device model name"));
}

TEST_CASE("kmsdk run exits 1 naming a .ko that is not a kernel module", "[cli]")
{
    TempDir dir{"kmsdk-cli-test"};
    auto garbage = dir.path() / "x.ko";
    std::string bytes(4096, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<char>((i * 7919 + 13) % 251);
    write_file_atomically(garbage, bytes);
    auto r = run_kmsdk({"run", "--kernel", release(), "-q", "-m", garbage.string(), "--", "true"});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Contains(garbage.string()) && Contains("not a valid kernel module"));
}

TEST_CASE("kmsdk run -m with a module built for another release exits 1 before booting, "
          "naming both releases and the --kernel to pass",
          "[cli]")
{
    std::optional<Kernel> other;
    std::filesystem::path module;
    for (auto& kernel : Kernel::list()) {
        if (kernel.release() == release())
            continue;
        try {
            module = built_module("kms_hello", kernel.release());
            other.emplace(std::move(kernel));
            break;
        } catch (const std::runtime_error&) {
        }
    }
    if (!other)
        FAIL("this case needs a second cached kernel with kms_hello built for it");
    auto started = std::chrono::steady_clock::now();
    auto r = run_kmsdk({"run", "--kernel", release(), "-m", module.string(), "--", "true"});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Contains("kms_hello.ko was built for " + other->release() +
                               ", and this guest boots " + release()));
    CHECK_THAT(r.err, Contains("--kernel "));
    // Before a boot: no "starting a guest", and far quicker than one.
    CHECK_THAT(r.err, !Contains("starting a guest"));
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));

    // Asked for, it is staged, and the kernel's own refusal comes back.
    auto anyway = run_kmsdk({"run", "--kernel", release(), "-q", "--allow-release-mismatch", "-m",
                             module.string(), "--", "insmod kms_hello.ko"});
    CHECK(anyway.status != 0);
    CHECK_THAT(anyway.err,
               Contains("insmod: ERROR: could not insert module kms_hello.ko: Invalid module format"));
}

TEST_CASE("kmsdk --help exits 0 with the usage; an unknown option exits 2", "[cli]")
{
    auto help = run_kmsdk({"--help"});
    CHECK(help.status == 0);
    CHECK_THAT(help.out, Contains("Usage:"));
    for (auto command : {"run", "shell", "cycle", "kernels", "snapshots", "tour"})
        CHECK_THAT(help.out, Contains(command));
    CHECK_THAT(help.out, Contains("Exit codes:"));

    auto run_help = run_kmsdk({"run", "--help"});
    CHECK(run_help.status == 0);
    CHECK_THAT(run_help.out, Contains("--modprobe-conf") && Contains("--timeout"));
    // Every command that starts a guest can start it cold.
    for (auto command : {"run", "shell", "cycle", "tour"}) {
        auto guest_help = run_kmsdk({command, "--help"});
        CHECK(guest_help.status == 0);
        CHECK_THAT(guest_help.out, Contains("--cold") && Contains("KMSDK_COLD=1"));
    }

    auto snapshots_help = run_kmsdk({"snapshots", "--help"});
    CHECK(snapshots_help.status == 0);
    CHECK_THAT(snapshots_help.out, Contains("list") && Contains("clear") &&
                                       Contains("KMSDK_SNAPSHOT_DIR"));

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

TEST_CASE("kmsdk run saves a snapshot on first use and restores it next; kmsdk snapshots lists "
          "it and clear removes it", "[cli][snapshots]")
{
    PrivateSnapshots snapshots;
    auto none = run_kmsdk({"snapshots"}, {.env = snapshots.env()});
    CHECK(none.status == 0);
    CHECK_THAT(none.out, StartsWith("No snapshots.") && Contains(snapshots.folder().string()));

    auto first =
        run_kmsdk({"run", "--kernel", release(), "--", "true"}, {.env = snapshots.env()});
    CHECK(first.status == 0);
    CHECK_THAT(first.err, Contains("kmsdk: starting a guest on " + release() + "...\n"));
    CHECK_THAT(first.err, Contains("kmsdk: guest " + release() + " booted in ") &&
                              Contains(" (snapshot saved in "));
    auto saved = snapshots.snapshots();
    REQUIRE(saved.size() == 1);

    // One row: release, machine, size, age, when, how long, key.
    auto listed = run_kmsdk({"snapshots"}, {.env = snapshots.env()});
    CHECK(listed.status == 0);
    auto rows = lines_with(listed.out, release() + " ");
    REQUIRE(rows.size() == 1);
    CHECK_THAT(rows[0], StartsWith(release() + " ") && Contains("256 MiB, ") && Contains(" MB ") &&
                            Contains(snapshot_key(saved[0])));
    CHECK_THAT(listed.out, Contains("1 snapshot, ") && Contains(snapshots.folder().string()));
    CHECK_FALSE(listed.out.find("BROKEN") != std::string::npos);

    auto second =
        run_kmsdk({"run", "--kernel", release(), "--", "uname -r"}, {.env = snapshots.env()});
    CHECK(second.status == 0);
    CHECK(second.out == release() + "\n");
    CHECK_THAT(second.err, Contains("kmsdk: guest " + release() + " restored from a snapshot in "));
    CHECK_FALSE(second.err.find("booted") != std::string::npos);

    // --cold ignores the snapshot there is, and leaves it as it was.
    auto before = snapshot_header(saved[0]);
    auto cold = run_kmsdk({"run", "--kernel", release(), "--cold", "--", "true"},
                          {.env = snapshots.env()});
    CHECK(cold.status == 0);
    CHECK_THAT(cold.err, Contains("kmsdk: guest " + release() + " booted in "));
    CHECK_FALSE(cold.err.find("restored") != std::string::npos);
    CHECK_FALSE(cold.err.find("snapshot saved") != std::string::npos);
    CHECK(snapshot_header(saved[0]) == before);

    auto files = snapshots.files().size();
    auto cleared = run_kmsdk({"snapshots", "clear"}, {.env = snapshots.env()});
    CHECK(cleared.status == 0);
    CHECK_THAT(cleared.out, StartsWith(fmt::format("Removed {} file", files)));
    CHECK(snapshots.files().empty());
    auto after = run_kmsdk({"snapshots"}, {.env = snapshots.env()});
    CHECK(after.status == 0);
    CHECK_THAT(after.out, StartsWith("No snapshots."));
}

TEST_CASE("kmsdk run -m saves a staged snapshot once, restores it next, and kmsdk snapshots "
          "lists it",
          "[cli][snapshots]")
{
    PrivateSnapshots snapshots;
    auto module = built_module("kms_hello").string();
    auto first = run_kmsdk({"run", "--kernel", release(), "-m", module, "--", "true"},
                           {.env = snapshots.env()});
    CHECK(first.status == 0);
    CHECK_THAT(first.err, Contains(" (snapshot saved in ") && Contains(" (staged snapshot saved in "));

    auto second = run_kmsdk({"run", "--kernel", release(), "-m", module, "--",
                             "sh", "-c", "ls /lib/modules/$(uname -r)/extra"},
                            {.env = snapshots.env()});
    CHECK(second.status == 0);
    CHECK(second.out == "kms_hello.ko\n");
    CHECK_THAT(second.err, Contains("kmsdk: guest " + release() + " restored from a staged snapshot in "));
    CHECK_FALSE(second.err.find("saved") != std::string::npos);

    auto listed = run_kmsdk({"snapshots"}, {.env = snapshots.env()});
    CHECK(listed.status == 0);
    CHECK_THAT(listed.out, Contains("2 snapshots, ") && Contains(", staged ") &&
                               Contains((snapshots.folder() / "staged").string()));
    auto cleared = run_kmsdk({"snapshots", "clear"}, {.env = snapshots.env()});
    CHECK(cleared.status == 0);
    CHECK(run_kmsdk({"snapshots"}, {.env = snapshots.env()}).out.starts_with("No snapshots."));
}

TEST_CASE("kmsdk run --cold boots without a snapshot and saves none", "[cli][snapshots]")
{
    PrivateSnapshots snapshots;
    auto cold = run_kmsdk({"run", "--kernel", release(), "--cold", "--", "true"},
                          {.env = snapshots.env()});
    CHECK(cold.status == 0);
    CHECK_THAT(cold.err, Contains("kmsdk: guest " + release() + " booted in "));
    CHECK_FALSE(cold.err.find("snapshot saved") != std::string::npos);
    CHECK(snapshots.snapshots().empty());
    CHECK_THAT(run_kmsdk({"snapshots"}, {.env = snapshots.env()}).out, StartsWith("No snapshots."));
}

TEST_CASE("kmsdk snapshots names what is wrong with a broken snapshot; clear removes it",
          "[cli][snapshots]")
{
    PrivateSnapshots snapshots;
    std::filesystem::create_directories(snapshots.folder());
    write_file_atomically(snapshots.folder() / "m256-000000000000.snap", std::string(8192, 'x'));
    auto listed = run_kmsdk({"snapshots"}, {.env = snapshots.env()});
    CHECK(listed.status == 0);
    auto rows = lines_with(listed.out, "BROKEN");
    REQUIRE(rows.size() == 1);
    CHECK_THAT(rows[0], StartsWith(release() + " ") && Contains("m256-000000000000.snap") &&
                            Contains("not a snapshot of this kmsdk (no header)"));

    auto cleared = run_kmsdk({"snapshots", "clear"}, {.env = snapshots.env()});
    CHECK(cleared.status == 0);
    CHECK_THAT(cleared.out, StartsWith("Removed 1 file"));
    CHECK(snapshots.files().empty());
}
