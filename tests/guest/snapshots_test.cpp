// SPDX-License-Identifier: GPL-2.0
// Snapshots with real guests: the first guest of its kind boots cold and
// saves one, later ones restore it, each with its own random pool and the
// host's time, mapping its RAM file without writing it. A snapshot that is
// truncated, corrupt, stale, headerless, empty or of another machine, or
// whose RAM file is truncated or another snapshot's, is said to be broken
// in one notice, the guest boots cold and replaces it, and the next guest
// restores again. A snapshot folder others can write is not used at all.
// A full disk, two guests racing to make the same snapshot, and the reboot
// after an Oops are covered too.
//
// The cases tagged [files] (a damaged or untrusted snapshot, a full disk)
// run on the first test kernel only (tests/guest/CMakeLists.txt, ONCE):
// they test kmsdk's checks of its files, the same whatever the kernel.
//
// Every test case has its own snapshot folder ($KMSDK_SNAPSHOT_DIR, which
// the runtime reads for each guest) and its own guests: the suite guest
// would keep a snapshot folder for the whole run.
#include "guest_suite.hpp"
#include "scoped_env.hpp"
#include "snapshot_ram.hpp"
#include "snapshot_store.hpp"
#include "temp_dir.hpp"
#include "unique_fd.hpp"

#include "kmsdk/snapshots.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <functional>
#include <fstream>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

using kmsdk::detail::ScopedEnv;

namespace {

// A guest that is not stuck anywhere comes up (cold, at worst, on a busy
// machine) well within this; a restore that hung would wait for the 30 s
// boot deadline first.
constexpr auto prompt = std::chrono::seconds(20);

double seconds_of(Clock::duration duration)
{
    return std::chrono::duration<double>(duration).count();
}

// Timings go to stdout, for whoever reads the run's log.
void report_timing(std::string_view what, Clock::duration took)
{
    fmt::print("snapshots [{}]: {}: {:.2f} s\n", test_kernel().release(), what, seconds_of(took));
}

// The notices one guest gave. Thread-safe: guests of the concurrent case
// come up on threads of their own.
class Notices {
public:
    std::function<void(const std::string&)> sink()
    {
        return [this](const std::string& notice) {
            std::lock_guard lock{mutex_};
            lines_.push_back(notice);
        };
    }
    std::vector<std::string> lines() const
    {
        std::lock_guard lock{mutex_};
        return lines_;
    }
    std::string text() const
    {
        std::string text;
        for (const auto& line : lines())
            text += line + "\n";
        return text;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

GuestOptions options(Notices& notices)
{
    return GuestOptions{}.kernel(test_kernel().release()).on_notice(notices.sink());
}

std::string read_bytes(const fs::path& path, std::size_t count)
{
    std::ifstream in{path, std::ios::binary};
    std::string bytes(count, '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(count));
    bytes.resize(static_cast<std::size_t>(in.gcount()));
    return bytes;
}

void write_at(const fs::path& path, std::streamoff offset, const std::string& bytes)
{
    std::fstream file{path, std::ios::binary | std::ios::in | std::ios::out};
    file.seekp(offset);
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(file);
}

detail::SnapshotHeader header_of(const fs::path& path)
{
    return detail::SnapshotHeader::parse(read_bytes(path, detail::SnapshotHeader::size));
}

fs::path ram_of(const fs::path& snapshot)
{
    return detail::ram_file_of(snapshot, header_of(snapshot).id);
}

// What a snapshot's .snap and RAM files take on disk.
std::uint64_t snapshot_disk_usage(const fs::path& snapshot)
{
    return detail::disk_usage(snapshot) + detail::disk_usage(ram_of(snapshot));
}

// A file's own bytes' hash, to show nothing wrote it.
std::string content_hash(const fs::path& path)
{
    detail::UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    REQUIRE(fd);
    return detail::ram_content_hash(fd.get(), fs::file_size(path));
}

// Copies a snapshot (its .snap and RAM file) to `snapshot` in another folder.
void copy_snapshot(const fs::path& from, const fs::path& snapshot)
{
    fs::create_directories(snapshot.parent_path());
    auto id = header_of(from).id;
    fs::copy_file(detail::ram_file_of(from, id), detail::ram_file_of(snapshot, id),
                  fs::copy_options::overwrite_existing);
    fs::copy_file(from, snapshot, fs::copy_options::overwrite_existing);
}

// A fresh snapshot folder for one test case (or `root`, made elsewhere),
// made $KMSDK_SNAPSHOT_DIR (and $KMSDK_COLD cleared) until the case ends.
class SnapshotFolder {
public:
    explicit SnapshotFolder(const fs::path& root = {})
        : dir_{root.empty() ? std::make_optional<detail::TempDir>("kmsdk-snaptest") : std::nullopt},
          root_{root.empty() ? dir_->path() : root},
          env_{"KMSDK_SNAPSHOT_DIR", root_.c_str()},
          cold_{"KMSDK_COLD", nullptr}
    {
    }

    // Where this kernel's snapshots go.
    fs::path kernel_dir() const { return snapshot_dir(test_kernel()); }
    fs::path staged_dir() const { return kernel_dir() / detail::staged_folder_name; }

    // The staged snapshots' .snap files, sorted.
    std::vector<fs::path> staged_snapshots() const
    {
        std::vector<fs::path> found;
        std::error_code error;
        for (const auto& entry : fs::directory_iterator{staged_dir(), error})
            if (entry.path().extension() == detail::snapshot_suffix)
                found.push_back(entry.path());
        std::sort(found.begin(), found.end());
        return found;
    }

    std::vector<fs::path> with(std::string_view marker) const
    {
        std::vector<fs::path> found;
        std::error_code error;
        for (const auto& entry : fs::directory_iterator{kernel_dir(), error})
            if (entry.path().filename().string().find(marker) != std::string::npos)
                found.push_back(entry.path());
        return found;
    }
    std::vector<fs::path> snapshots() const
    {
        std::vector<fs::path> found;
        for (const auto& path : with(detail::snapshot_suffix))
            if (path.extension() == detail::snapshot_suffix)
                found.push_back(path);
        return found;
    }
    std::vector<fs::path> temporaries() const { return with(detail::snapshot_temporary_marker); }
    std::vector<fs::path> ram_files() const
    {
        std::vector<fs::path> found;
        for (const auto& path : with(detail::ram_suffix))
            if (path.extension() == detail::ram_suffix &&
                path.string().find(detail::snapshot_temporary_marker) == std::string::npos)
                found.push_back(path);
        return found;
    }

    // Everything in the folder, for messages.
    std::string listing() const
    {
        std::string text;
        std::error_code error;
        for (const auto& entry : fs::directory_iterator{kernel_dir(), error})
            text += fmt::format("{} ({} bytes)\n", entry.path().filename().string(),
                                entry.is_regular_file() ? entry.file_size() : 0);
        return text;
    }

    const fs::path& root() const { return root_; }

private:
    std::optional<detail::TempDir> dir_;
    fs::path root_;
    ScopedEnv env_;
    ScopedEnv cold_;
};

// A good snapshot of the default machine, made in a folder of its own by a
// guest of its own.
fs::path make_snapshot(const fs::path& dir, std::string_view what)
{
    SnapshotFolder folder{dir};
    Notices notices;
    auto started = Clock::now();
    Guest guest{options(notices)};
    report_timing(fmt::format("cold boot and save ({})", what), Clock::now() - started);
    INFO(notices.text());
    REQUIRE(notices.lines().empty());
    REQUIRE(guest.boot_stats().snapshot_save > std::chrono::nanoseconds::zero());
    auto found = folder.snapshots();
    REQUIRE(found.size() == 1);
    return found.front();
}

// Made once for the suite: the broken cases start from a copy of it.
const fs::path& pristine_snapshot()
{
    static detail::TempDir dir{"kmsdk-snappristine"};
    static fs::path path = make_snapshot(dir.path(), "the suite's pristine snapshot");
    return path;
}

// Another snapshot of the same machine, from another boot.
const fs::path& other_boot_snapshot()
{
    static detail::TempDir dir{"kmsdk-snapother"};
    static fs::path path = make_snapshot(dir.path(), "another boot's snapshot");
    return path;
}

// Puts a copy of the pristine snapshot into `folder`; returns its path.
fs::path install_good_snapshot(const SnapshotFolder& folder)
{
    const auto& pristine = pristine_snapshot();
    auto path = folder.kernel_dir() / pristine.filename();
    copy_snapshot(pristine, path);
    return path;
}

// One guest coming up: how long it took, what it said, how it came up.
struct Start {
    std::unique_ptr<Guest> guest;
    Notices notices;
    Clock::duration took{};
};

std::unique_ptr<Start> start_guest(const std::function<GuestOptions(Notices&)>& make = options)
{
    auto start = std::make_unique<Start>();
    auto started = Clock::now();
    start->guest = std::make_unique<Guest>(make(start->notices));
    start->took = Clock::now() - started;
    return start;
}

void check_works(Guest& guest)
{
    auto echo = guest.run("echo alive");
    CHECK(echo.status == 0);
    CHECK(echo.out == "alive\n");
    CHECK_NOTHROW(guest.check_healthy());
}

// The snapshot at `path` was damaged: the next guest says so once, naming
// `problem`, boots cold, works and replaces it, and the guest after that
// restores without a word. `others`: the snapshots of other machines in
// the folder, which stay.
void check_replaced(const SnapshotFolder& folder, const fs::path& path, std::string_view problem,
                    std::size_t others = 0)
{
    auto broken = start_guest();
    report_timing(fmt::format("broken snapshot ({}) found, cold boot and save", problem), broken->took);
    {
        auto notices = broken->notices.lines();
        INFO("notices:\n" << broken->notices.text());
        for (const auto& notice : notices)
            fmt::print("snapshots [{}]: notice: {}\n", test_kernel().release(), notice);
        REQUIRE(notices.size() == 1);
        CHECK_THAT(notices[0], Contains(path.string()));
        CHECK_THAT(notices[0], Contains(std::string{problem}));
        CHECK_THAT(notices[0], Contains("booting cold and replacing it"));
        // One line, whatever QEMU said.
        CHECK(notices[0].find('\n') == std::string::npos);
    }
    const auto& stats = broken->guest->boot_stats();
    CHECK_FALSE(stats.restored);
    CHECK(stats.snapshot_save > std::chrono::nanoseconds::zero());
    CHECK(broken->took < prompt);
    check_works(*broken->guest);
    broken.reset();

    INFO("snapshot folder:\n" << folder.listing());
    auto snapshots = folder.snapshots();
    CHECK(std::count(snapshots.begin(), snapshots.end(), path) == 1);
    CHECK(snapshots.size() == others + 1);
    CHECK(folder.temporaries().empty());
    CHECK_NOTHROW(header_of(path));

    auto next = start_guest();
    report_timing(fmt::format("restore after replacing ({})", problem), next->took);
    INFO("notices:\n" << next->notices.text());
    CHECK(next->notices.lines().empty());
    CHECK(next->guest->boot_stats().restored);
    CHECK(next->guest->boot_stats().snapshot_save == std::chrono::nanoseconds::zero());
    check_works(*next->guest);
}

// A 1 MiB tmpfs mounted for one scope: a disk that fills up.
class SmallTmpfs {
public:
    SmallTmpfs() : dir_{"kmsdk-snapfull"}
    {
        if (::mount("kmsdk-snapfull", dir_.path().c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                    "size=1m,mode=0700") == 0)
            mounted_ = true;
        else
            error_ = std::strerror(errno);
    }
    ~SmallTmpfs()
    {
        if (mounted_)
            ::umount2(dir_.path().c_str(), MNT_DETACH);
    }
    SmallTmpfs(const SmallTmpfs&) = delete;
    SmallTmpfs& operator=(const SmallTmpfs&) = delete;

    bool mounted() const { return mounted_; }
    const std::string& error() const { return error_; }
    const fs::path& path() const { return dir_.path(); }

private:
    detail::TempDir dir_;
    bool mounted_ = false;
    std::string error_;
};

}  // namespace

TEST_CASE("the first guest boots cold and saves a snapshot; the next one restores it and "
          "loads a module",
          "[snapshots]")
{
    SnapshotFolder folder;
    {
        auto first = start_guest();
        report_timing("cold boot and save", first->took);
        INFO("notices:\n" << first->notices.text());
        CHECK(first->notices.lines().empty());
        const auto& stats = first->guest->boot_stats();
        CHECK_FALSE(stats.restored);
        CHECK(stats.snapshot_save > std::chrono::nanoseconds::zero());
        report_timing("of which the save", stats.snapshot_save);
        INFO("snapshot folder:\n" << folder.listing());
        REQUIRE(folder.snapshots().size() == 1);
        CHECK(folder.temporaries().empty());
        auto snapshot = folder.snapshots().front();
        auto header = header_of(snapshot);
        CHECK(header.stream_bytes + detail::SnapshotHeader::size == fs::file_size(snapshot));
        // The RAM is in its own file, sparse: the stream is the devices' state.
        CHECK(header.stream_bytes < (1U << 20));
        auto ram = ram_of(snapshot);
        CHECK(folder.ram_files() == std::vector<fs::path>{ram});
        CHECK(fs::file_size(ram) == header.ram_bytes + detail::ram_trailer_size);
        struct stat st {};
        REQUIRE(::stat(ram.c_str(), &st) == 0);
        auto on_disk = static_cast<std::uint64_t>(st.st_blocks) * 512;
        CHECK(on_disk < header.ram_bytes);
        fmt::print("snapshots [{}]: snapshot: stream {:.2f} MiB, RAM file {:.1f} MiB on disk of "
                   "{} MiB ({})\n",
                   test_kernel().release(), static_cast<double>(header.stream_bytes) / (1 << 20),
                   static_cast<double>(on_disk) / (1 << 20), header.ram_bytes >> 20, header.machine);
        check_works(*first->guest);
    }
    auto ram = ram_of(folder.snapshots().front());
    auto ram_hash = content_hash(ram);

    auto second = start_guest([](Notices& notices) {
        return options(notices).module(built_module("kms_hello"));
    });
    report_timing("restore (with kms_hello staged)", second->took);
    INFO("notices:\n" << second->notices.text());
    CHECK(second->notices.lines().empty());
    auto& g = *second->guest;
    CHECK(g.boot_stats().restored);
    CHECK(g.boot_stats().snapshot_save == std::chrono::nanoseconds::zero());
    CHECK(g.run("echo alive").out == "alive\n");
    auto insmod = g.insmod("kms_hello");
    CHECK(insmod.ok());
    CHECK(is_loaded(g, "kms_hello"));
    auto rmmod = g.rmmod("kms_hello");
    CHECK(rmmod.ok());
    CHECK_FALSE(is_loaded(g, "kms_hello"));
    CHECK_HEALTHY(g);
    CHECK(folder.snapshots().size() == 1);
    // The restored guest wrote its memory, and none of it into the file.
    second.reset();
    CHECK(content_hash(ram) == ram_hash);
}

TEST_CASE("two guests restored from one snapshot have their own random pools and the host's time",
          "[snapshots]")
{
    SnapshotFolder folder;
    install_good_snapshot(folder);
    auto a = start_guest();
    auto b = start_guest();
    REQUIRE(a->guest->boot_stats().restored);
    REQUIRE(b->guest->boot_stats().restored);
    CHECK(a->notices.lines().empty());
    CHECK(b->notices.lines().empty());

    auto uuid_a = a->guest->read("/proc/sys/kernel/random/uuid");
    auto uuid_b = b->guest->read("/proc/sys/kernel/random/uuid");
    CHECK(uuid_a != uuid_b);

    const char* bytes = "head -c 16 /dev/urandom | od -An -tx1";
    auto random_a = a->guest->run(bytes);
    auto random_b = b->guest->run(bytes);
    REQUIRE(random_a.ok());
    REQUIRE(random_b.ok());
    INFO("a: " << random_a.out << "b: " << random_b.out);
    CHECK(trimmed(random_a.out).size() >= 16 * 3 - 1);
    CHECK(random_a.out != random_b.out);

    for (auto* start : {a.get(), b.get()}) {
        auto date = start->guest->run("date +%s");
        REQUIRE(date.ok());
        auto guest_time = std::stoll(trimmed(date.out));
        auto host_time = static_cast<long long>(std::time(nullptr));
        INFO("guest " << guest_time << ", host " << host_time);
        CHECK(std::llabs(guest_time - host_time) <= 5);
    }
}

TEST_CASE("a snapshot truncated in the middle of its stream is replaced", "[snapshots][files]")
{
    SnapshotFolder folder;
    auto path = install_good_snapshot(folder);
    fs::resize_file(path, fs::file_size(path) / 2);
    check_replaced(folder, path, "truncated");
}

TEST_CASE("a snapshot with one byte flipped in the middle of its stream is replaced",
          "[snapshots][files]")
{
    SnapshotFolder folder;
    auto path = install_good_snapshot(folder);
    auto header = header_of(path);
    auto middle = static_cast<std::streamoff>(detail::SnapshotHeader::size + header.stream_bytes / 2);
    auto byte = read_bytes(path, static_cast<std::size_t>(middle) + 1).back();
    write_at(path, middle, std::string(1, static_cast<char>(byte ^ 0x40)));
    REQUIRE(fs::file_size(path) == detail::SnapshotHeader::size + header.stream_bytes);
    check_replaced(folder, path, "corrupt");
}

TEST_CASE("a snapshot whose header names another key is stale and replaced", "[snapshots][files]")
{
    SnapshotFolder folder;
    auto path = install_good_snapshot(folder);
    auto header = header_of(path);
    header.key[0] = header.key[0] == '0' ? '1' : '0';
    write_at(path, 0, header.format());
    check_replaced(folder, path, "stale");
}

TEST_CASE("a snapshot whose header is garbage is replaced", "[snapshots][files]")
{
    SnapshotFolder folder;
    auto path = install_good_snapshot(folder);
    write_at(path, 0, std::string(64, 'G'));
    check_replaced(folder, path, "no header");
}

TEST_CASE("an empty snapshot file is replaced", "[snapshots][files]")
{
    SnapshotFolder folder;
    auto path = install_good_snapshot(folder);
    fs::resize_file(path, 0);
    check_replaced(folder, path, "truncated");
}

TEST_CASE("a snapshot whose RAM file is truncated is replaced", "[snapshots][files]")
{
    SnapshotFolder folder;
    auto path = install_good_snapshot(folder);
    auto ram = ram_of(path);
    fs::resize_file(ram, fs::file_size(ram) / 2);
    check_replaced(folder, path, "truncated: its RAM file has");
    // The replacement's RAM file took its place; the truncated one is gone.
    CHECK(folder.ram_files() == std::vector<fs::path>{ram_of(path)});
}

TEST_CASE("a snapshot whose RAM file is another boot's is replaced", "[snapshots][files]")
{
    SnapshotFolder folder;
    auto path = install_good_snapshot(folder);
    // Same machine, same size, same kernel: only the trailer's id tells.
    const auto& other = other_boot_snapshot();
    fs::copy_file(ram_of(other), ram_of(path), fs::copy_options::overwrite_existing);
    check_replaced(folder, path, "mismatched: its RAM file belongs to another snapshot");
}

TEST_CASE("a device stream of another boot beside this snapshot's RAM file is replaced",
          "[snapshots][files]")
{
    SnapshotFolder folder;
    auto path = install_good_snapshot(folder);
    auto ram = ram_of(path);
    // The other boot's .snap, its RAM file renamed to the name it expects:
    // the RAM is this snapshot's, and its trailer says so.
    const auto& other = other_boot_snapshot();
    fs::copy_file(other, path, fs::copy_options::overwrite_existing);
    fs::rename(ram, ram_of(path));
    check_replaced(folder, path, "mismatched");
}

TEST_CASE("a snapshot folder its group can write is not used: the guest boots cold and saves "
          "nothing there",
          "[snapshots][files]")
{
    SnapshotFolder folder;
    auto path = install_good_snapshot(folder);
    fs::permissions(folder.kernel_dir(), fs::perms::group_write, fs::perm_options::add);
    auto before = folder.listing();

    auto start = start_guest();
    report_timing("group-writable snapshot folder, cold boot", start->took);
    auto notices = start->notices.lines();
    INFO("notices:\n" << start->notices.text());
    REQUIRE(notices.size() == 1);
    CHECK_THAT(notices[0], Contains("not using snapshots: " + folder.kernel_dir().string() +
                                    " is writable by its group (mode 0775)"));
    CHECK_THAT(notices[0], Contains("booting cold"));
    CHECK(notices[0].find('\n') == std::string::npos);
    CHECK_FALSE(start->guest->boot_stats().restored);
    CHECK(start->guest->boot_stats().snapshot_save == std::chrono::nanoseconds::zero());
    check_works(*start->guest);
    start.reset();
    // Nothing was replaced, saved or locked there.
    CHECK(folder.listing() == before);

    // Made private again, it is used again.
    fs::permissions(folder.kernel_dir(), fs::perms::group_write, fs::perm_options::remove);
    auto next = start_guest();
    INFO("notices:\n" << next->notices.text());
    CHECK(next->notices.lines().empty());
    CHECK(next->guest->boot_stats().restored);
    CHECK(fs::exists(path));
}

TEST_CASE("a snapshot of another machine under this machine's key, which QEMU refuses to load, "
          "is replaced",
          "[snapshots][files]")
{
    SnapshotFolder folder;
    auto path = install_good_snapshot(folder);
    auto ours = header_of(path);

    // Memory, not a device: QEMU's edu device saves no state, so a stream
    // from a machine with one loads into a machine without (only the key
    // tells them apart), while RAM of another size is refused.
    {
        auto other = start_guest([](Notices& notices) { return options(notices).memory_mb(320); });
        INFO("notices:\n" << other->notices.text());
        REQUIRE(other->guest->boot_stats().snapshot_save > std::chrono::nanoseconds::zero());
    }
    fs::path other_path;
    for (const auto& snapshot : folder.snapshots())
        if (snapshot != path)
            other_path = snapshot;
    INFO("snapshot folder:\n" << folder.listing());
    REQUIRE_FALSE(other_path.empty());
    auto theirs = header_of(other_path);
    REQUIRE_THAT(theirs.machine, Contains("320 MiB"));
    REQUIRE(theirs.key != ours.key);

    // Their stream, its length and CRC as saved, and their RAM file, under
    // our key and name: every check of kmsdk's passes, and only QEMU can tell.
    auto forged = theirs;
    forged.key = ours.key;
    auto staging = folder.kernel_dir() / "forged";
    {
        std::ofstream out{staging, std::ios::binary | std::ios::trunc};
        std::ifstream in{other_path, std::ios::binary};
        in.seekg(static_cast<std::streamoff>(detail::SnapshotHeader::size));
        out << forged.format() << in.rdbuf();
        REQUIRE(out);
    }
    fs::copy_file(detail::ram_file_of(other_path, theirs.id), detail::ram_file_of(path, theirs.id));
    fs::rename(staging, path);
    REQUIRE(fs::file_size(path) == fs::file_size(other_path));

    check_replaced(folder, path, "not loadable", 1);
    // The other machine's snapshot is its own business.
    CHECK(fs::exists(other_path));
}

TEST_CASE("a full disk: the guest boots cold, says it could not save, and leaves no file behind",
          "[snapshots][files]")
{
    if (::geteuid() != 0)
        return skip("mounting a small tmpfs to fill needs root");
    SmallTmpfs full;
    if (!full.mounted())
        return skip(fmt::format("cannot mount a tmpfs here ({})", full.error()));
    SnapshotFolder folder{full.path()};

    auto start = start_guest();
    report_timing("cold boot, save failing on a full disk", start->took);
    {
        auto notices = start->notices.lines();
        INFO("notices:\n" << start->notices.text());
        for (const auto& notice : notices)
            fmt::print("snapshots [{}]: notice: {}\n", test_kernel().release(), notice);
        REQUIRE(notices.size() == 1);
        CHECK_THAT(notices[0], Contains("could not save a snapshot"));
        CHECK_THAT(notices[0], Contains(folder.kernel_dir().string()));
        // Found before the guest boots: its RAM file could not have grown.
        CHECK_THAT(notices[0], Contains("MB free there"));
        CHECK_THAT(notices[0], Contains("going on without one"));
        CHECK(notices[0].find('\n') == std::string::npos);
    }
    CHECK_FALSE(start->guest->boot_stats().restored);
    CHECK(start->guest->boot_stats().snapshot_save == std::chrono::nanoseconds::zero());
    CHECK(start->took < prompt);
    check_works(*start->guest);

    INFO("snapshot folder:\n" << folder.listing());
    std::vector<std::string> left;
    for (const auto& entry : fs::directory_iterator{folder.kernel_dir()})
        left.push_back(entry.path().filename().string());
    REQUIRE(left.size() == 1);
    CHECK(left[0].ends_with(".snap.lock"));
}

TEST_CASE("two guests that need the same missing snapshot at once make it once", "[snapshots]")
{
    SnapshotFolder folder;

    struct Outcome {
        Notices notices;
        BootStats stats;
        Clock::duration took{};
        std::string echo;
        std::string error;
    };
    Outcome outcomes[2];
    std::latch ready{2};
    // Each guest lives and dies on its thread: QEMU goes with the thread
    // that started it (PR_SET_PDEATHSIG).
    auto run = [&ready](Outcome& outcome) {
        try {
            ready.arrive_and_wait();
            auto started = Clock::now();
            Guest guest{options(outcome.notices)};
            outcome.took = Clock::now() - started;
            outcome.stats = guest.boot_stats();
            outcome.echo = guest.run("echo alive").out;
            guest.check_healthy();
        } catch (const std::exception& error) {
            outcome.error = error.what();
        }
    };
    std::thread first{run, std::ref(outcomes[0])};
    std::thread second{run, std::ref(outcomes[1])};
    first.join();
    second.join();

    int saved = 0;
    int restored = 0;
    for (auto& outcome : outcomes) {
        INFO("error: " << outcome.error);
        INFO("notices:\n" << outcome.notices.text());
        CHECK(outcome.error.empty());
        CHECK(outcome.echo == "alive\n");
        CHECK(outcome.notices.lines().empty());
        saved += outcome.stats.snapshot_save > std::chrono::nanoseconds::zero() ? 1 : 0;
        restored += outcome.stats.restored ? 1 : 0;
        report_timing(fmt::format("concurrent guest ({})", outcome.stats.restored ? "restored"
                                  : outcome.stats.snapshot_save.count() ? "cold, saved"
                                                                        : "cold, not saved"),
                      outcome.took);
    }
    INFO("snapshot folder:\n" << folder.listing());
    CHECK(saved == 1);
    CHECK(restored == 1);
    CHECK(folder.snapshots().size() == 1);
    CHECK(folder.temporaries().empty());
}

TEST_CASE("a guest that waited for another run to make the snapshot restores what it made",
          "[snapshots]")
{
    SnapshotFolder folder;
    // This test plays the other run: it holds the lock of the default
    // machine's snapshot while the guest starts, then puts the snapshot in
    // place as a maker does (a rename) and lets go.
    const auto& pristine = pristine_snapshot();
    auto path = folder.kernel_dir() / pristine.filename();
    auto lock = detail::SnapshotLock::acquire(path, detail::Deadline{std::chrono::seconds(1)});
    REQUIRE(lock);

    constexpr auto held = std::chrono::seconds(2);
    Notices notices;
    BootStats stats;
    Clock::duration took{};
    std::string echo;
    std::string error;
    // The guest lives and dies on its thread: QEMU goes with the thread
    // that started it (PR_SET_PDEATHSIG).
    std::thread waiter{[&] {
        try {
            auto started = Clock::now();
            Guest guest{options(notices)};
            took = Clock::now() - started;
            stats = guest.boot_stats();
            echo = guest.run("echo alive").out;
            guest.check_healthy();
        } catch (const std::exception& failure) {
            error = failure.what();
        }
    }};
    std::this_thread::sleep_for(held);
    auto id = header_of(pristine).id;
    fs::copy_file(detail::ram_file_of(pristine, id), detail::ram_file_of(path, id));
    auto staging = folder.kernel_dir() / "staging";
    fs::copy_file(pristine, staging);
    fs::rename(staging, path);
    lock.reset();
    waiter.join();

    report_timing("waited for another run's snapshot, then restored", took);
    INFO("error: " << error);
    INFO("notices:\n" << notices.text());
    CHECK(error.empty());
    CHECK(echo == "alive\n");
    CHECK(notices.lines().empty());
    CHECK(stats.restored);
    CHECK(stats.snapshot_save == std::chrono::nanoseconds::zero());
    // It waited rather than restoring a snapshot that was not there yet.
    CHECK(took >= held - std::chrono::milliseconds(500));
    CHECK(took < held + prompt);
    INFO("snapshot folder:\n" << folder.listing());
    CHECK(folder.snapshots() == std::vector<fs::path>{path});
    CHECK(folder.temporaries().empty());
}

TEST_CASE("the reboot after an Oops restores the staged snapshot", "[snapshots]")
{
    SnapshotFolder folder;
    install_good_snapshot(folder);
    auto start = start_guest([](Notices& notices) {
        return options(notices).module(built_module("kms_fault_oops"));
    });
    auto& g = *start->guest;
    REQUIRE(g.boot_stats().restored);
    // The first guest staged so saves the staged snapshot the reboot restores.
    CHECK(g.boot_stats().staged_save > std::chrono::nanoseconds::zero());
    auto boot_id = g.read("/proc/sys/kernel/random/boot_id");
    REQUIRE(g.insmod("kms_fault_oops").ok());
    CHECK_HEALTHY(g);

    auto faulted = Clock::now();
    CHECK(g.run("echo 1 > /dev/kms_fault_oops").status == 128 + 9);
    CHECK_THROWS_AS(g.check_healthy(), GuestUnhealthy);
    auto detected = Clock::now();
    CHECK(g.run("echo alive").out == "alive\n");
    CHECK_NOTHROW(g.check_healthy());
    auto recovered = Clock::now();

    INFO("fault to detection " << seconds_of(detected - faulted) << " s, to a healthy guest "
                               << seconds_of(recovered - faulted) << " s");
    report_timing("Oops, detected", detected - faulted);
    report_timing("Oops, back to a healthy guest", recovered - faulted);
    CHECK(g.boot_stats().restored);
    CHECK(g.boot_stats().staged);
    CHECK(g.boot_stats().staging == std::chrono::nanoseconds::zero());
    CHECK(g.read("/proc/sys/kernel/tainted") == "0\n");
    // A new boot as far as the kernel can tell (boot_id was drawn after the
    // restore from the reseeded pool), with the module staged again.
    CHECK(g.read("/proc/sys/kernel/random/boot_id") != boot_id);
    CHECK_FALSE(is_loaded(g, "kms_fault_oops"));
    CHECK(g.insmod("kms_fault_oops").ok());
    CHECK(g.rmmod("kms_fault_oops").ok());
    CHECK(start->notices.lines().empty());
    CHECK(recovered - faulted < prompt);
}

namespace {

// A guest staged with kms_hello, loaded by its boot pass, and a file whose
// contents make the staging differ.
GuestOptions staged_hello(Notices& notices, const std::string& mark = "one")
{
    return options(notices)
        .module(built_module("kms_hello"))
        .modules_load("kms_hello")
        .file("/etc/kmsdk-mark", mark);
}

// The guest came up from its staged snapshot, staged as asked.
void check_staged(Guest& guest, const std::string& mark)
{
    const auto& stats = guest.boot_stats();
    CHECK(stats.restored);
    CHECK(stats.staged);
    CHECK(stats.staging == std::chrono::nanoseconds::zero());
    CHECK(stats.snapshot_save == std::chrono::nanoseconds::zero());
    CHECK(stats.staged_save == std::chrono::nanoseconds::zero());
    CHECK(guest.read("/etc/kmsdk-mark") == mark);
}

}  // namespace

TEST_CASE("a guest staged like an earlier one restores its staged snapshot, the module loaded by "
          "its boot pass and its files in place",
          "[snapshots]")
{
    SnapshotFolder folder;
    auto base = install_good_snapshot(folder);
    auto base_ram_hash = content_hash(ram_of(base));

    auto first = start_guest([](Notices& notices) { return staged_hello(notices); });
    report_timing("restore, stage, save the staged snapshot", first->took);
    INFO("notices:\n" << first->notices.text());
    CHECK(first->notices.lines().empty());
    {
        const auto& stats = first->guest->boot_stats();
        CHECK(stats.restored);
        CHECK_FALSE(stats.staged);
        CHECK(stats.staging > std::chrono::nanoseconds::zero());
        CHECK(stats.staged_save > std::chrono::nanoseconds::zero());
        report_timing("of which the staged save", stats.staged_save);
    }
    CHECK(is_loaded(*first->guest, "kms_hello"));
    auto first_boot_id = first->guest->read("/proc/sys/kernel/random/boot_id");
    first.reset();
    INFO("staged folder: " << folder.staged_dir());
    auto staged = folder.staged_snapshots();
    REQUIRE(staged.size() == 1);
    CHECK_THAT(header_of(staged[0]).machine, Contains(", staged "));
    // The staged guest ran on a copy: the snapshot's own RAM is as it was.
    CHECK(content_hash(ram_of(base)) == base_ram_hash);

    auto second = start_guest([](Notices& notices) { return staged_hello(notices); });
    report_timing("restore of the staged snapshot", second->took);
    INFO("notices:\n" << second->notices.text());
    CHECK(second->notices.lines().empty());
    auto& g = *second->guest;
    check_staged(g, "one");
    CHECK(is_loaded(g, "kms_hello"));
    CHECK_THAT(g.dmesg(), Contains("kms_hello: hello, world"));
    CHECK(g.read("/proc/sys/kernel/random/boot_id") != first_boot_id);
    CHECK(g.rmmod("kms_hello").ok());
    CHECK(g.insmod("kms_hello").ok());
    CHECK_HEALTHY(g);
    second.reset();

    // Staged otherwise, it has a staged snapshot of its own.
    auto other = start_guest([](Notices& notices) { return staged_hello(notices, "two"); });
    CHECK(other->notices.lines().empty());
    CHECK_FALSE(other->guest->boot_stats().staged);
    CHECK(other->guest->read("/etc/kmsdk-mark") == "two");
    other.reset();
    CHECK(folder.staged_snapshots().size() == 2);
    CHECK(folder.snapshots() == std::vector<fs::path>{base});
    auto again = start_guest([](Notices& notices) { return staged_hello(notices, "two"); });
    check_staged(*again->guest, "two");
}

TEST_CASE("staged snapshots past KMSDK_STAGED_SNAPSHOT_LIMIT go least recently restored first; "
          "0 makes none",
          "[snapshots][files]")
{
    SnapshotFolder folder;
    install_good_snapshot(folder);
    auto make = [](const std::string& mark) {
        return start_guest([&](Notices& notices) { return staged_hello(notices, mark); });
    };
    make("a");
    make("b");
    auto staged = folder.staged_snapshots();
    REQUIRE(staged.size() == 2);
    std::uint64_t in_use = 0;
    for (const auto& path : staged)
        in_use += snapshot_disk_usage(path);
    // a, restored, is now the more recently used of the two.
    auto a = make("a");
    REQUIRE(a->guest->boot_stats().staged);
    a.reset();
    {
        // Room for two and a half: the third made must evict one.
        ScopedEnv limit{"KMSDK_STAGED_SNAPSHOT_LIMIT", std::to_string(in_use + in_use / 4).c_str()};
        auto c = make("c");
        INFO("notices:\n" << c->notices.text());
        CHECK(c->notices.lines().empty());
        CHECK(c->guest->boot_stats().staged_save > std::chrono::nanoseconds::zero());
    }
    auto left = folder.staged_snapshots();
    INFO("staged: " << left.size());
    REQUIRE(left.size() == 2);
    auto b = make("b");
    CHECK_FALSE(b->guest->boot_stats().staged);  // it was the one evicted
    b.reset();
    auto again_a = make("a");
    CHECK(again_a->guest->boot_stats().staged);
    again_a.reset();

    ScopedEnv none{"KMSDK_STAGED_SNAPSHOT_LIMIT", "0"};
    auto before = folder.staged_snapshots();
    auto d = make("d");
    CHECK(d->notices.lines().empty());
    CHECK(d->guest->boot_stats().restored);
    CHECK(d->guest->boot_stats().staged_save == std::chrono::nanoseconds::zero());
    CHECK(d->guest->boot_stats().staging > std::chrono::nanoseconds::zero());
    CHECK(d->guest->read("/etc/kmsdk-mark") == "d");
    CHECK(folder.staged_snapshots() == before);
}

TEST_CASE("a staged snapshot whose RAM file is truncated is replaced: the guest stages again",
          "[snapshots][files]")
{
    SnapshotFolder folder;
    install_good_snapshot(folder);
    start_guest([](Notices& notices) { return staged_hello(notices); });
    auto staged = folder.staged_snapshots();
    REQUIRE(staged.size() == 1);
    auto ram = ram_of(staged[0]);
    fs::resize_file(ram, fs::file_size(ram) / 2);

    auto broken = start_guest([](Notices& notices) { return staged_hello(notices); });
    auto notices = broken->notices.lines();
    INFO("notices:\n" << broken->notices.text());
    REQUIRE(notices.size() == 1);
    CHECK_THAT(notices[0], Contains("the staged snapshot " + staged[0].string() + " is truncated") &&
                               Contains("staging again and replacing it"));
    CHECK(broken->guest->boot_stats().restored);
    CHECK(broken->guest->boot_stats().staged_save > std::chrono::nanoseconds::zero());
    CHECK(is_loaded(*broken->guest, "kms_hello"));
    broken.reset();

    auto next = start_guest([](Notices& notices) { return staged_hello(notices); });
    CHECK(next->notices.lines().empty());
    check_staged(*next->guest, "one");
    CHECK(folder.staged_snapshots() == staged);
}

TEST_CASE("a guest with a device keeps no staged snapshot: QEMU does not migrate every device",
          "[snapshots][files]")
{
    SnapshotFolder folder;
    auto start = start_guest([](Notices& notices) { return staged_hello(notices).device("edu"); });
    CHECK(start->notices.lines().empty());
    CHECK(start->guest->boot_stats().snapshot_save > std::chrono::nanoseconds::zero());
    CHECK(start->guest->boot_stats().staged_save == std::chrono::nanoseconds::zero());
    CHECK(is_loaded(*start->guest, "kms_hello"));
    CHECK(folder.staged_snapshots().empty());
}
