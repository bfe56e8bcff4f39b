// SPDX-License-Identifier: GPL-2.0
#pragma once

// The host library's UniqueFd, shared with the agent.
#include "../src/unique_fd.hpp"

namespace kmsdk::agent {

using detail::UniqueFd;

// Both ends of a pipe(2), close-on-exec so that no child inherits the other
// children's ends by accident.
struct Pipe {
    UniqueFd read_end;
    UniqueFd write_end;
};

}  // namespace kmsdk::agent
