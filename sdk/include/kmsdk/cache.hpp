// SPDX-License-Identifier: GPL-2.0
//
// The kmsdk cache folder and the few file helpers everything cached in it
// needs: reading whole files, replacing one atomically, and a content hash
// to key a cached artefact by its inputs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace kmsdk {

// $KMSDK_CACHE, else $XDG_CACHE_HOME/kmsdk, else $HOME/.cache/kmsdk: the
// same folder scripts/kernels.sh uses.
std::filesystem::path cache_dir();

// The whole file. Throws naming the file when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// Writes `bytes` to a temporary file next to `path` and renames it over
// `path`, so a reader sees the old file or the new one, never half of one,
// and two writers racing both succeed (the last rename wins). Creates the
// parent folders.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes,
                           std::filesystem::perms permissions = std::filesystem::perms{0644});

// For a file named after its content: writes it as write_file_atomically()
// does, unless a file is there already, which stays (inode, time and all).
// A writer that lost the race changes nothing a reader noted about it, as
// a snapshot's key notes the initramfs's time.
void write_file_once(const std::filesystem::path& path, std::string_view bytes);

// FNV-1a, 64 bits. A cache key, not a security measure: it tells a changed
// input from an unchanged one, and nobody gains by forging a collision.
class ContentHash {
public:
    // Each piece is length-prefixed, so ("ab", "c") and ("a", "bc") differ.
    ContentHash& add(std::string_view bytes);
    ContentHash& add(std::uint64_t number);

    std::uint64_t value() const { return state_; }
    // 16 lowercase hex digits.
    std::string hex() const;

private:
    void mix(std::string_view bytes);

    std::uint64_t state_ = 0xcbf29ce484222325ULL;
};

}  // namespace kmsdk
