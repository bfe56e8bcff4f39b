// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <random>

namespace kms_edu_ctl {

// Random test data that a failure can replay: the seed is --seed when
// given, else fresh, and the commands name it when an answer is wrong.
struct RandomSource {
    explicit RandomSource(std::optional<std::uint32_t> chosen)
        : seed{chosen ? *chosen : std::random_device{}()}, engine{seed}
    {
    }
    std::uint32_t seed;
    std::mt19937 engine;
};

}  // namespace kms_edu_ctl
