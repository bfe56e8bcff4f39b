// SPDX-License-Identifier: GPL-2.0
#include "temp_dir.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

namespace kmsdk::detail {

TempDir::TempDir(std::string_view prefix)
{
    // Unix socket paths are limited to 108 bytes: keep these short.
    auto pattern = (std::filesystem::temp_directory_path() / fmt::format("{}-XXXXXX", prefix)).string();
    if (!mkdtemp(pattern.data()))
        throw std::runtime_error(fmt::format("cannot create a temporary folder {}: {}; check TMPDIR",
                                             pattern, std::strerror(errno)));
    path_ = pattern;
}

TempDir::TempDir(TempDir&& other) noexcept : path_{std::move(other.path_)}
{
    other.path_.clear();
}

TempDir::~TempDir()
{
    if (path_.empty())
        return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

}  // namespace kmsdk::detail
