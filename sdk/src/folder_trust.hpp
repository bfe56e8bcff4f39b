// SPDX-License-Identifier: GPL-2.0
//
// Whether a folder may hold what kmsdk restores guests from. A snapshot
// is a QEMU migration stream, and QEMU does not treat one as trusted
// input: whoever can write the folder can run code in QEMU as the user.
// So snapshots are used only from a folder the user owns and that
// neither its group nor others can write ($KMSDK_CACHE or
// $KMSDK_SNAPSHOT_DIR may point at a shared one).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace kmsdk::detail {

// Why `dir` is not to be trusted ("/x/y is writable by its group (mode
// 0775)"), or nullopt when it is, or does not exist yet. Its parent is
// checked too: whoever can write that can swap `dir` for another.
std::optional<std::string> distrust_folder(const std::filesystem::path& dir);

// The same for an open file from such a folder: its owner and mode.
std::optional<std::string> distrust_file(int fd);

// Creates `dir` (and its parents) as a folder distrust_folder() accepts:
// what it creates gets mode 0755, less the umask.
void create_private_folder(const std::filesystem::path& dir);

}  // namespace kmsdk::detail
