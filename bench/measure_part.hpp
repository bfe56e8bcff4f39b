// SPDX-License-Identifier: GPL-2.0
//
// One part of a kernel's measurements: its failure is recorded in the
// report and the next part still runs, so one broken figure does not cost
// the whole invocation (unless the bench was interrupted).
#pragma once

#include "process.hpp"
#include "stats.hpp"

#include <fmt/format.h>

#include <exception>
#include <string_view>

namespace kmsdk::bench {

template <typename Part>
void measure_part(KernelReport& report, std::string_view what, Part&& part)
{
    if (interrupted())
        return;
    try {
        part();
    } catch (const std::exception& error) {
        report.errors.push_back(fmt::format("{}: {}", what, error.what()));
    }
}

}  // namespace kmsdk::bench
