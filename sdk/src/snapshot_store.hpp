// SPDX-License-Identifier: GPL-2.0
//
// The files behind snapshots (kmsdk/snapshots.hpp). One file a machine:
//
//   <snapshot dir>/<slot>.snap   a 4 KiB text header, then QEMU's stream
//   <snapshot dir>/<slot>.lock   held (flock) by whoever is making it
//
// The header names the key the snapshot was made under, the stream's
// length and CRC-32, so that a stale, truncated or corrupt file is told
// from a good one before any guest runs from it.
#pragma once

#include "deadline.hpp"
#include "unique_fd.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kmsdk::detail {

// A snapshot that must not be restored; the message says why, in a few
// words ("truncated: 1000 of 69147061 bytes").
class SnapshotBroken : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct SnapshotHeader {
    static constexpr std::size_t size = 4096;

    std::string key;
    std::string machine;
    std::uint64_t stream_bytes = 0;
    std::uint32_t stream_crc = 0;
    std::int64_t created = 0;  // seconds since the epoch
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
};

// The header, read and checked against the file's length; SnapshotBroken
// when the file cannot be what was saved.
SnapshotHeader read_snapshot_header(int fd);

// Opens `path` and checks its header, its length and its key (which
// stands for everything the restoring QEMU must match). nullopt when
// there is no snapshot; SnapshotBroken says what is wrong with one.
std::optional<SnapshotFile> open_snapshot(const std::filesystem::path& path, std::string_view key);

// Whether the stream still has the CRC-32 it was saved with. Reads with
// pread, so the fd's offset (shared with QEMU) stays where it is.
bool stream_intact(int fd, const SnapshotHeader& header);

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

// A snapshot being written: a temporary file beside its final name, which
// only commit() renames into place. Anything else removes it. Made only
// under the slot's SnapshotLock: it removes the temporaries that runs
// killed while saving left behind.
class SnapshotWriter {
public:
    explicit SnapshotWriter(std::filesystem::path final_path);
    SnapshotWriter(const SnapshotWriter&) = delete;
    SnapshotWriter& operator=(const SnapshotWriter&) = delete;
    ~SnapshotWriter();

    // Where QEMU writes its stream (just after the room for the header).
    int fd() const { return fd_.get(); }
    // Fills in the stream's length and CRC, writes the header, renames.
    void commit(SnapshotHeader header);

private:
    std::filesystem::path final_;
    std::filesystem::path temporary_;
    UniqueFd fd_;
    bool committed_ = false;
};

// The file name a temporary snapshot gets; clear_snapshots() knows it.
inline constexpr std::string_view snapshot_suffix = ".snap";
inline constexpr std::string_view snapshot_temporary_marker = ".snap.tmp-";

}  // namespace kmsdk::detail
