// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <algorithm>
#include <chrono>

namespace kmsdk::detail {

// A point in time by which something must be done; every wait in the
// runtime is bounded by one.
class Deadline {
public:
    using clock = std::chrono::steady_clock;

    explicit Deadline(clock::duration budget) : at_{clock::now() + budget}, budget_{budget} {}

    bool expired() const { return clock::now() >= at_; }
    clock::duration budget() const { return budget_; }
    // Milliseconds left, for poll(); never negative, at most `cap`.
    int poll_ms(int cap = 1000) const
    {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(at_ - clock::now()).count();
        return static_cast<int>(std::clamp<long long>(left, 0, cap));
    }

private:
    clock::time_point at_;
    clock::duration budget_;
};

}  // namespace kmsdk::detail
