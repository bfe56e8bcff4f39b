// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <filesystem>
#include <string_view>

namespace kmsdk::detail {

// A fresh private folder, removed with everything in it when dropped.
class TempDir {
public:
    explicit TempDir(std::string_view prefix);
    TempDir(TempDir&& other) noexcept;
    TempDir& operator=(TempDir&&) = delete;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();

    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace kmsdk::detail
