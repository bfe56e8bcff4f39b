// SPDX-License-Identifier: GPL-2.0
//
// dma-roundtrip: random bytes into the device's buffer and back, compared.
// Every round runs even after a mismatch, so the summary says how often.
#include "commands.hpp"
#include "edu_device.hpp"
#include "failure.hpp"
#include "random_source.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace kms_edu_ctl {
namespace {

std::string hex_byte(std::byte value)
{
    char text[5];
    std::snprintf(text, sizeof text, "0x%02x", static_cast<unsigned>(value));
    return text;
}

}  // namespace

int dma_roundtrip(const std::string& device, const RoundtripArgs& args)
{
    EduDevice edu{device};
    RandomSource random{args.seed};
    std::vector<std::byte> written(args.length);
    std::vector<std::byte> read_back(args.length);
    unsigned identical = 0;
    std::string first_mismatch;

    for (unsigned round = 1; round <= args.repeat; ++round) {
        std::ranges::generate(written,
                              [&] { return static_cast<std::byte>(random.engine() >> 24); });
        // Stale data from an earlier round must not pass for a good read.
        std::ranges::fill(read_back, std::byte{0});
        if (auto n = edu.write_at(written, args.offset); n != written.size())
            throw Failure{"pwrite at offset " + std::to_string(args.offset) + " moved " +
                          std::to_string(n) + " of " + std::to_string(written.size()) + " bytes"};
        if (auto n = edu.read_at(read_back, args.offset); n != read_back.size())
            throw Failure{"pread at offset " + std::to_string(args.offset) + " moved " +
                          std::to_string(n) + " of " + std::to_string(read_back.size()) + " bytes"};

        auto [at, _] = std::ranges::mismatch(written, read_back);
        if (at == written.end()) {
            ++identical;
            continue;
        }
        if (first_mismatch.empty()) {
            auto index = static_cast<std::size_t>(at - written.begin());
            first_mismatch = "round " + std::to_string(round) + ": byte " + std::to_string(index) +
                             " (offset " + std::to_string(args.offset + static_cast<off_t>(index)) +
                             ") read back " + hex_byte(read_back[index]) + ", written " +
                             hex_byte(written[index]);
        }
    }

    std::printf("dma-roundtrip: %u/%u identical (%zu bytes at offset %lld)\n", identical,
                args.repeat, args.length, static_cast<long long>(args.offset));
    if (first_mismatch.empty())
        return 0;
    std::fflush(stdout);
    std::fprintf(stderr, "kms-edu-ctl: dma-roundtrip: %s (replay with --seed %u)\n",
                 first_mismatch.c_str(), random.seed);
    return 1;
}

}  // namespace kms_edu_ctl
