// SPDX-License-Identifier: GPL-2.0
// `kmsdk snapshots`: the saved guests that later runs restore instead of
// booting (kmsdk/snapshots.hpp), listed, verified or cleared.
#include "commands.hpp"

#include "kmsdk/kernel.hpp"
#include "kmsdk/snapshots.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <set>
#include <vector>

namespace kmsdk::cli {
namespace {

// "40 s", "3 min", "5 h", "2 days": enough to tell a fresh snapshot from
// one a week old.
std::string age_of(std::chrono::system_clock::time_point created)
{
    using namespace std::chrono;
    // A clock set back since the save must not print a negative age.
    auto age = std::max(duration_cast<seconds>(system_clock::now() - created), seconds{0});
    if (age < minutes{1})
        return fmt::format("{} s", age.count());
    if (age < hours{1})
        return fmt::format("{} min", duration_cast<minutes>(age).count());
    if (age < hours{48})
        return fmt::format("{} h", duration_cast<hours>(age).count());
    return fmt::format("{} days", duration_cast<hours>(age).count() / 24);
}

std::string local_time(std::chrono::system_clock::time_point when)
{
    auto seconds = std::chrono::system_clock::to_time_t(when);
    std::tm tm{};
    ::localtime_r(&seconds, &tm);
    return fmt::format("{:%Y-%m-%d %H:%M}", tm);
}

std::string megabytes(std::uintmax_t bytes)
{
    return fmt::format("{} MB", (bytes + 500'000) / 1'000'000);
}

// Where snapshots go: one folder per cached kernel.
std::vector<std::string> snapshot_dirs()
{
    std::vector<std::string> dirs;
    for (const auto& kernel : Kernel::list())
        dirs.push_back(snapshot_dir(kernel).string());
    return dirs;
}

int list(SnapshotCheck check)
{
    auto snapshots = list_snapshots(check);
    if (snapshots.empty()) {
        auto dirs = snapshot_dirs();
        if (dirs.empty()) {
            fmt::print("No snapshots, and no cached kernels to make them for: fetch one with "
                       "'kmsdk kernels fetch 6.12'.\n");
            return exit_ok;
        }
        fmt::print("No snapshots. The first guest of each kind saves one into its kernel's "
                   "folder:\n");
        for (const auto& dir : dirs)
            fmt::print("  {}\n", dir);
        return exit_ok;
    }

    // One row per snapshot, columns as wide as their widest cell; a broken
    // one says why after its file name instead of a key.
    constexpr std::size_t columns = 7;
    std::vector<std::array<std::string, columns>> rows;
    rows.push_back({"RELEASE", "MACHINE", "SIZE", "AGE", "SAVED AT", "SAVE TOOK", "KEY"});
    std::uintmax_t total = 0;
    std::set<std::string> folders;
    for (const auto& snapshot : snapshots) {
        total += snapshot.size;
        folders.insert(snapshot.path.parent_path().string());
        if (!snapshot.problem.empty()) {
            rows.push_back({snapshot.release, "-", megabytes(snapshot.size), "-", "-", "-",
                            fmt::format("BROKEN ({}): {}", snapshot.path.filename().string(),
                                        snapshot.problem)});
            continue;
        }
        rows.push_back({snapshot.release, snapshot.machine, megabytes(snapshot.size),
                        age_of(snapshot.created), local_time(snapshot.created),
                        fmt::format("{:.2f} s",
                                    std::chrono::duration<double>(snapshot.save_time).count()),
                        snapshot.key});
    }
    std::array<std::size_t, columns> width{};
    for (const auto& row : rows)
        for (std::size_t i = 0; i < columns; ++i)
            width[i] = std::max(width[i], row[i].size());
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i + 1 < columns; ++i)
            line += fmt::format("{:<{}}  ", row[i], width[i]);
        line += row[columns - 1];
        fmt::print("{}\n", line);
    }

    fmt::print("\n{} snapshot{}, {} in all, in:\n", snapshots.size(),
               snapshots.size() == 1 ? "" : "s", megabytes(total));
    for (const auto& folder : folders)
        fmt::print("  {}\n", folder);
    auto broken = std::count_if(snapshots.begin(), snapshots.end(),
                                [](const auto& snapshot) { return !snapshot.problem.empty(); });
    if (broken > 0)
        fmt::print("A broken snapshot is replaced by the next guest of its kind; "
                   "'kmsdk snapshots clear' removes them all now.\n");
    if (check == SnapshotCheck::thorough) {
        if (broken > 0) {
            fmt::print(stderr, "kmsdk: {} of {} snapshots failed verification\n", broken,
                       snapshots.size());
            return exit_failure;
        }
        fmt::print("Verified: every stream has its CRC-32 and every RAM file its hash.\n");
    }
    return exit_ok;
}

int clear()
{
    auto removed = clear_snapshots();
    if (removed == 0) {
        fmt::print("No snapshot files to remove.\n");
        return exit_ok;
    }
    fmt::print("Removed {} file{} (snapshots, their locks and unfinished saves). The next guest "
               "of each kind boots from scratch and saves a new one.\n",
               removed, removed == 1 ? "" : "s");
    return exit_ok;
}

}  // namespace

Subcommand add_snapshots_command(CLI::App& app)
{
    auto* command = app.add_subcommand(
        "snapshots", "List the saved guests that runs restore instead of booting, or remove them");
    auto* list_command = command->add_subcommand(
        "list", "List every snapshot of every cached kernel: release, machine, size, age, "
                "how long it took to save, key, and what is wrong with a broken one "
                "(the default)");
    auto* verify_command = command->add_subcommand(
        "verify", "List every snapshot as 'list' does, after reading all of each: the stream's "
                  "CRC-32 and the RAM file's hash, which a restore does not check (it checks "
                  "sizes, ids and the stream). Exits 1 if any is broken");
    auto* clear_command = command->add_subcommand(
        "clear", "Remove every snapshot of every cached kernel; the next guest of each kind "
                 "boots from scratch and saves a new one");
    command->footer("A guest's first run on a kernel boots it and saves a snapshot once its agent "
                    "is ready; later runs of the same machine (memory, devices, kernel command "
                    "line) restore it, mapping its RAM file copy-on-write. They live in <kernel "
                    "cache folder>/snapshots, or in $KMSDK_SNAPSHOT_DIR/<release> when it is set, "
                    "and are used only while that folder is yours and no one else can write it. "
                    "A guest given modules or files (and no devices) is saved again once they "
                    "are staged, into staged/ there; the least recently used of those go past "
                    "$KMSDK_STAGED_SNAPSHOT_LIMIT (default 2G, 0 for none). "
                    "--cold or KMSDK_COLD=1 boots without one.");
    return {command, [list_command, verify_command, clear_command](const std::vector<std::string>&) {
                (void)list_command;
                if (clear_command->parsed())
                    return clear();
                return list(verify_command->parsed() ? SnapshotCheck::thorough : SnapshotCheck::quick);
            }};
}

}  // namespace kmsdk::cli
