// SPDX-License-Identifier: GPL-2.0
//
// exercise: many small requests with answers known in advance, to shake
// out interrupt handling (a lost or misrouted interrupt gives a stale or
// missing answer). Every round runs even after a wrong answer.
#include "commands.hpp"
#include "edu_device.hpp"
#include "hex.hpp"
#include "random_source.hpp"

#include <cstdio>

namespace kms_edu_ctl {
namespace {

// Largest n exercised. From 13! on the answer wraps 32 bits, so both exact
// and wrapped answers get checked.
constexpr std::uint32_t max_n = 20;

// n! modulo 2^32, which is what the device computes.
std::uint32_t expected_factorial(std::uint32_t n)
{
    std::uint32_t result = 1;
    for (std::uint32_t k = 2; k <= n; ++k)
        result *= k;
    return result;
}

}  // namespace

int exercise(const std::string& device, const ExerciseArgs& args)
{
    EduDevice edu{device};
    RandomSource random{args.seed};
    std::uniform_int_distribution<std::uint32_t> pick_n{0, max_n};
    unsigned factorials_right = 0;
    unsigned liveness_right = 0;
    std::string first_wrong;

    for (unsigned round = 1; round <= args.repeat; ++round) {
        auto n = pick_n(random.engine);
        auto got = edu.factorial(n);
        if (got == expected_factorial(n))
            ++factorials_right;
        else if (first_wrong.empty())
            first_wrong = "round " + std::to_string(round) + ": factorial " + std::to_string(n) +
                          " answered " + std::to_string(got) + ", expected " +
                          std::to_string(expected_factorial(n));

        std::uint32_t pattern = random.engine();
        auto inverse = edu.liveness(pattern);
        if (inverse == ~pattern)
            ++liveness_right;
        else if (first_wrong.empty())
            first_wrong = "round " + std::to_string(round) + ": liveness " + hex32(pattern) +
                          " answered " + hex32(inverse) + ", expected " + hex32(~pattern);
    }

    std::printf("exercise: %u/%u factorials correct, %u/%u liveness correct\n", factorials_right,
                args.repeat, liveness_right, args.repeat);
    if (first_wrong.empty())
        return 0;
    std::fflush(stdout);
    std::fprintf(stderr, "kms-edu-ctl: exercise: %s (replay with --seed %u)\n", first_wrong.c_str(),
                 random.seed);
    return 1;
}

}  // namespace kms_edu_ctl
