// SPDX-License-Identifier: GPL-2.0
//
// Staged snapshots (snapshot_session.hpp) are made for every new set of
// staged files, so their folder has a size limit: past it, the snapshots
// restored least recently go first. A restore touches its .snap, so the
// .snap's modification time is when it was last used.
#pragma once

#include <cstdint>
#include <filesystem>

namespace kmsdk::detail {

// The limit for the staged snapshots of one kernel: KMSDK_STAGED_SNAPSHOT_LIMIT
// (bytes, or a number with K, M or G), 2 GB by default; 0 turns staged
// snapshots off. Throws, saying what it takes, when the variable is not a size.
std::uint64_t staged_snapshot_limit();

// Removes the least recently used snapshots in `dir` (each a .snap and its
// RAM files) until those left take at most `limit` bytes on disk. `keep`,
// just made, stays whatever its size. Returns how many went.
std::size_t evict_least_recent(const std::filesystem::path& dir, std::uint64_t limit,
                               const std::filesystem::path& keep);

}  // namespace kmsdk::detail
