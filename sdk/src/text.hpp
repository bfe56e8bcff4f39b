// SPDX-License-Identifier: GPL-2.0
// The runtime's small text helpers for messages.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace kmsdk::detail {

// The last `count` lines of `text`.
std::string last_lines(const std::string& text, std::size_t count);

// The non-empty pieces of `text` between `separator`s.
std::vector<std::string> split(const std::string& text, char separator);

// "1.5 s"
std::string seconds(std::chrono::milliseconds duration);

// The text as one line: newlines become "; ", trailing ones go.
std::string one_line(std::string text);

// A file's bytes, or "" while it does not exist (a console log QEMU has
// not written yet).
std::string read_if_present(const std::filesystem::path& path);

}  // namespace kmsdk::detail
