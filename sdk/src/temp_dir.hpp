// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <filesystem>
#include <string_view>

namespace kmsdk::detail {

// A fresh private folder, removed with everything in it when dropped. Its
// name carries the owner's pid, so that what a killed owner left can be
// told from folders in use: see remove_abandoned().
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

// Removes the folders TempDir{prefix} made for processes that are gone
// (killed before they could clean up): the next run tidies after them.
void remove_abandoned(std::string_view prefix);

}  // namespace kmsdk::detail
