// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace kms_edu_ctl {

// Each command returns the exit status (0, or 1 for a wrong answer, having
// said why on stderr) and throws Failure when a system call fails.

int info(const std::string& device);
int liveness(const std::string& device, std::uint32_t value);
int factorial(const std::string& device, std::uint32_t n);
int write_from_stdin(const std::string& device, off_t offset);
int read_to_stdout(const std::string& device, off_t offset, std::size_t length);

struct RoundtripArgs {
    off_t offset = 0;
    std::size_t length = 4095;  // KMS_EDU_DMA_MAX: the whole buffer
    unsigned repeat = 1;
    std::optional<std::uint32_t> seed;
};
int dma_roundtrip(const std::string& device, const RoundtripArgs& args);

struct ExerciseArgs {
    unsigned repeat = 1;
    std::optional<std::uint32_t> seed;
};
int exercise(const std::string& device, const ExerciseArgs& args);

}  // namespace kms_edu_ctl
