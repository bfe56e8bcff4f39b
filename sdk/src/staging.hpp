// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "kmsdk/guest.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kmsdk::detail {

// What the host writes into a freshly booted guest before its boot pass:
// the kernel's own modules a guest needs (decompressed, at their place in
// /lib/modules/<release>/), the out-of-tree modules in extra/, and files.
// Worked out once per Guest, sent again after every reboot.
struct StagingPlan {
    struct File {
        std::string path;
        std::string contents;
        unsigned mode;
    };
    std::vector<File> files;
};

// The agent binary for the guest's /init: $KMSDK_AGENT, else the one built
// with this library, else the installed one.
std::filesystem::path agent_binary();

}  // namespace kmsdk::detail
