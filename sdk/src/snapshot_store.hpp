// SPDX-License-Identifier: GPL-2.0
//
// The files behind snapshots (kmsdk/snapshots.hpp). Per machine:
//
//   <snapshot dir>/<slot>.snap       a 4 KiB text header, then QEMU's stream
//                                    of device state (about 0.2 MB)
//   <snapshot dir>/<slot>-<id>.ram   the guest's RAM (snapshot_ram.hpp)
//   <snapshot dir>/<slot>.snap.lock  held (flock) by whoever is making it
//
// The header names the key the snapshot was made under, the stream's
// length and CRC-32, and the RAM file's id, size and content hash, so that
// a stale, truncated, corrupt or mismatched snapshot is told from a good
// one before any guest runs from it. Renaming the .snap into place commits
// a snapshot: its RAM file, named after its id, is in place before.
#pragma once

#include "deadline.hpp"
#include "snapshot_broken.hpp"
#include "unique_fd.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kmsdk::detail {

struct SnapshotHeader {
    static constexpr std::size_t size = 4096;

    std::string key;
    std::string machine;
    std::uint64_t stream_bytes = 0;
    std::uint32_t stream_crc = 0;
    std::string id;               // names the RAM file; its trailer repeats it
    std::uint64_t ram_bytes = 0;  // the guest's memory
    std::string ram_hash;         // ram_content_hash() at save
    std::int64_t created = 0;     // seconds since the epoch
    std::uint64_t save_ms = 0;

    // Exactly `size` bytes.
    std::string format() const;
    // Throws SnapshotBroken when `block` is not a header this build wrote.
    static SnapshotHeader parse(std::string_view block);
};

// A snapshot opened for restoring, its fd at the start of the stream.
struct SnapshotFile {
    UniqueFd fd;
    SnapshotHeader header;
    std::filesystem::path ram;  // its RAM file, checked
};

// The header, read and checked against the file's length; SnapshotBroken
// when the file cannot be what was saved.
SnapshotHeader read_snapshot_header(int fd);

// The RAM file of the snapshot at `snapshot` with id `id`.
std::filesystem::path ram_file_of(const std::filesystem::path& snapshot, std::string_view id);

// Opens `path` and checks its header, its length, its owner and mode
// (folder_trust.hpp), its key (which stands for everything the restoring
// QEMU must match), its stream's CRC, and its RAM file's size and trailer.
// nullopt when there is no snapshot; SnapshotBroken says what is wrong
// with one.
std::optional<SnapshotFile> open_snapshot(const std::filesystem::path& path, std::string_view key);

// Whether the stream still has the CRC-32 it was saved with. Reads with
// pread, so the fd's offset (shared with QEMU) stays where it is.
bool stream_intact(int fd, const SnapshotHeader& header);

// Everything open_snapshot() checks but the key, and the RAM's content
// hash as well: what `kmsdk snapshots verify` runs. SnapshotBroken says
// what is wrong.
void verify_snapshot(const std::filesystem::path& path);

// The right to make one snapshot: concurrent runs that need the same
// missing snapshot make it once, and the others wait for it.
class SnapshotLock {
public:
    // nullopt when another holder keeps it past the deadline. `check`
    // runs between tries and may throw to stop the wait (a signal came).
    static std::optional<SnapshotLock> acquire(const std::filesystem::path& snapshot,
                                               const Deadline& deadline,
                                               const std::function<void()>& check = {});

private:
    explicit SnapshotLock(UniqueFd fd) : fd_{std::move(fd)} {}
    UniqueFd fd_;
};

// A snapshot being written: two temporary files beside its final name,
// the stream and the RAM, which only commit() renames into place. Anything
// else removes them. Made only under the slot's SnapshotLock: it removes
// the temporaries that runs killed while saving left behind.
class SnapshotWriter {
public:
    // Throws, saying so, when the folder has no room for `ram_bytes`: a
    // guest whose RAM file cannot grow would die of SIGBUS.
    SnapshotWriter(std::filesystem::path final_path, std::uint64_t ram_bytes);
    SnapshotWriter(const SnapshotWriter&) = delete;
    SnapshotWriter& operator=(const SnapshotWriter&) = delete;
    ~SnapshotWriter();

    // Where QEMU writes its stream (just after the room for the header).
    int stream_fd() const { return stream_fd_.get(); }
    // The file the saving guest's RAM is mapped from (shared).
    const std::filesystem::path& ram() const { return ram_temporary_; }
    // Once QEMU has written the stream and exited: fills in the header
    // (stream length and CRC, the RAM's id and hash), writes it and the
    // RAM's trailer, renames both into place, and removes the RAM file of
    // the snapshot it replaces.
    void commit(SnapshotHeader header);

private:
    std::filesystem::path final_;
    std::filesystem::path temporary_;
    std::filesystem::path ram_temporary_;
    std::uint64_t ram_bytes_;
    UniqueFd stream_fd_;
    bool committed_ = false;
};

// What a file takes on disk (RAM files are sparse); 0 when it is gone.
std::uintmax_t disk_usage(const std::filesystem::path& path);

// The names of a snapshot's files; clear_snapshots() knows them.
inline constexpr std::string_view snapshot_suffix = ".snap";
inline constexpr std::string_view ram_suffix = ".ram";
inline constexpr std::string_view snapshot_temporary_marker = ".snap.tmp-";
// The folder, in a kernel's snapshot folder, of its staged snapshots.
inline constexpr std::string_view staged_folder_name = "staged";

}  // namespace kmsdk::detail
