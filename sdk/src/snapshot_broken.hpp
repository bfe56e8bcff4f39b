// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <stdexcept>

namespace kmsdk::detail {

// A snapshot that must not be restored; the message says why, in a few
// words ("truncated: 1000 of 69147061 bytes").
class SnapshotBroken : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace kmsdk::detail
