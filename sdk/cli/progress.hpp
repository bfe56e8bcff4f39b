// SPDX-License-Identifier: GPL-2.0
// A count of work done, on stderr: "kmsdk: 20/1000 cycles". A terminal
// shows one line rewritten in place; a log gets whole lines instead, a
// few of them (each tenth of the way, at most one per 5 s, and the end),
// without the carriage returns that would garble it.
#pragma once

#include <chrono>
#include <string>

namespace kmsdk::cli {

class Progress {
public:
    // Quiet shows nothing.
    Progress(std::string unit, unsigned total, bool quiet);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void update(unsigned done);
    // Ends the line being rewritten, before a message or the results.
    void end_line();

private:
    void show(unsigned done);

    std::string unit_;
    unsigned total_;
    bool quiet_;
    bool terminal_;
    bool line_open_ = false;
    unsigned last_tenth_ = 0;
    std::chrono::steady_clock::time_point last_shown_;
};

}  // namespace kmsdk::cli
