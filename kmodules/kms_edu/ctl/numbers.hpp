// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <CLI/CLI.hpp>

namespace kms_edu_ctl {

// Numbers on the command line are decimal or 0x-hexadecimal, never octal:
// "0100" is a hundred, as a reader of a test script expects (CLI11 alone
// would read it as 64). The transform rewrites the text as plain decimal
// for CLI11 to convert, so a malformed or out-of-range number is a usage
// error. Every value the type holds passes: the driver, not this tool,
// decides which are valid. A '-' is refused unless allowed, because CLI11
// would wrap "-1" into an unsigned type's largest value.
CLI::Validator decimal_or_hex(bool allow_negative = false);

}  // namespace kms_edu_ctl
