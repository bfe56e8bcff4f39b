// SPDX-License-Identifier: GPL-2.0
#include "progress.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <unistd.h>

namespace kmsdk::cli {
namespace {

// Often enough to look alive, rarely enough to cost nothing.
constexpr auto terminal_interval = std::chrono::milliseconds(100);
constexpr auto log_interval = std::chrono::seconds(5);

}  // namespace

Progress::Progress(std::string unit, unsigned total, bool quiet)
    : unit_{std::move(unit)},
      total_{total},
      quiet_{quiet},
      terminal_{::isatty(STDERR_FILENO) == 1},
      last_shown_{std::chrono::steady_clock::now()}
{
}

Progress::~Progress()
{
    end_line();
}

void Progress::update(unsigned done)
{
    if (quiet_)
        return;
    auto now = std::chrono::steady_clock::now();
    bool last = done >= total_;
    if (terminal_) {
        if (last || now - last_shown_ >= terminal_interval)
            show(done);
        return;
    }
    auto tenth = total_ == 0 ? 10 : static_cast<unsigned>(10ull * done / total_);
    if (last || (tenth > last_tenth_ && now - last_shown_ >= log_interval)) {
        last_tenth_ = tenth;
        show(done);
    }
}

void Progress::end_line()
{
    // Not fmt::print, which throws: this runs in the destructor too.
    if (line_open_)
        std::fputc('\n', stderr);
    line_open_ = false;
}

void Progress::show(unsigned done)
{
    last_shown_ = std::chrono::steady_clock::now();
    if (terminal_) {
        fmt::print(stderr, "\rkmsdk: {}/{} {}", done, total_, unit_);
        line_open_ = true;
    } else {
        fmt::print(stderr, "kmsdk: {}/{} {}\n", done, total_, unit_);
    }
}

}  // namespace kmsdk::cli
