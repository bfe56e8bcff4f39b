// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <stdexcept>

#include <string_view>

namespace kmsdk::detail {

// How the message of a snapshot that is sound but no longer matches starts.
inline constexpr std::string_view stale_prefix = "stale: ";

// A snapshot that must not be restored; the message says why, in a few
// words ("truncated: 1000 of 69147061 bytes").
class SnapshotBroken : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace kmsdk::detail
