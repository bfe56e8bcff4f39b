// SPDX-License-Identifier: GPL-2.0
//
// A snapshot's guest RAM, in a file of its own beside the device state:
//
//   [0, ram_bytes)      the guest's memory, sparse where it never wrote
//   [ram_bytes, +4 KiB) a trailer naming the snapshot it belongs to
//
// QEMU maps the first ram_bytes: shared while the guest that makes the
// snapshot boots into it, private (copy-on-write) in every guest restored
// from it. A restore therefore copies no memory and never writes the file,
// and guests restored from one snapshot share its pages in the page cache.
//
// Checked on every use: the size and the trailer's snapshot id (a read of
// 4 KiB). The content hash is taken once, at save, and checked again only
// by `kmsdk snapshots verify`: hashing the RAM would cost a restore more
// than the restore itself.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace kmsdk::detail {

inline constexpr std::uint64_t ram_trailer_size = 4096;

// Writes the trailer naming snapshot `id` just after `ram_bytes` of RAM.
void write_ram_trailer(int fd, std::uint64_t ram_bytes, std::string_view id,
                       const std::filesystem::path& path);

// Throws SnapshotBroken unless `path` holds `ram_bytes` of RAM and the
// trailer of snapshot `id`.
void check_ram_file(const std::filesystem::path& path, std::uint64_t ram_bytes, std::string_view id);

// XXH3-64 of the RAM's contents, holes read as zeros (so a copy that is
// more or less sparse hashes the same), as 16 hex digits. Throws
// SnapshotBroken when the file cannot be read that far.
std::string ram_content_hash(int fd, std::uint64_t ram_bytes);

// Copies the RAM of the RAM file `from` (not its trailer) into the file
// `to`, which it truncates: the extents the guest wrote, leaving holes
// where it did not, so the copy is as sparse as the original.
void copy_ram(const std::filesystem::path& from, const std::filesystem::path& to, std::uint64_t ram_bytes);

}  // namespace kmsdk::detail
