// SPDX-License-Identifier: GPL-2.0
#include "snapshot_eviction.hpp"

#include "snapshot_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace kmsdk::detail {

std::uint64_t staged_snapshot_limit()
{
    constexpr std::uint64_t default_limit = 2'000'000'000;
    const char* chosen = std::getenv("KMSDK_STAGED_SNAPSHOT_LIMIT");
    if (!chosen || !*chosen)
        return default_limit;
    std::string digits{chosen};
    std::uint64_t unit = 1;
    switch (digits.back()) {
    case 'K': case 'k': unit = 1'000; break;
    case 'M': case 'm': unit = 1'000'000; break;
    case 'G': case 'g': unit = 1'000'000'000; break;
    default: break;
    }
    if (unit != 1)
        digits.pop_back();
    // At most 15 digits: even with G, no overflow.
    if (digits.empty() || digits.size() > 15 || digits.find_first_not_of("0123456789") != std::string::npos)
        throw std::invalid_argument(fmt::format(
            "KMSDK_STAGED_SNAPSHOT_LIMIT={} is not a size: give bytes, or a number with K, M or G "
            "(the default is 2G; 0 turns staged snapshots off)",
            chosen));
    return std::stoull(digits) * unit;
}

std::size_t evict_least_recent(const std::filesystem::path& dir, std::uint64_t limit,
                               const std::filesystem::path& keep)
{
    struct Entry {
        std::filesystem::path snap;
        std::filesystem::file_time_type used;
        std::uint64_t bytes = 0;
        std::vector<std::filesystem::path> ram;
    };
    std::map<std::string, Entry> by_stem;
    std::error_code error;
    for (const auto& file : std::filesystem::directory_iterator{dir, error}) {
        auto name = file.path().filename().string();
        if (name.ends_with(snapshot_suffix)) {
            auto& entry = by_stem[file.path().stem().string()];
            entry.snap = file.path();
            entry.used = file.last_write_time(error);
            entry.bytes += disk_usage(file.path());
        } else if (name.ends_with(ram_suffix) && name.find(snapshot_temporary_marker) == std::string::npos) {
            // <stem>-<id>.ram
            auto dash = name.rfind('-');
            if (dash == std::string::npos)
                continue;
            auto& entry = by_stem[name.substr(0, dash)];
            entry.bytes += disk_usage(file.path());
            entry.ram.push_back(file.path());
        }
    }
    std::vector<Entry> entries;
    std::uint64_t total = 0;
    for (auto& [stem, entry] : by_stem) {
        // A RAM file without its .snap is one being committed: not ours to judge.
        if (entry.snap.empty())
            continue;
        total += entry.bytes;
        if (entry.snap != keep)
            entries.push_back(std::move(entry));
    }
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.used < b.used; });
    std::size_t removed = 0;
    for (const auto& entry : entries) {
        if (total <= limit)
            break;
        // The .snap first: without it, nothing restores from the RAM file.
        std::filesystem::remove(entry.snap, error);
        for (const auto& ram : entry.ram)
            std::filesystem::remove(ram, error);
        total -= std::min(total, entry.bytes);
        ++removed;
    }
    return removed;
}

}  // namespace kmsdk::detail
