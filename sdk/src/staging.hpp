// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "kmsdk/guest.hpp"

#include <filesystem>
#include <string>
#include <string_view>
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

    // XXH3-64 of every file's path, mode and contents, in order, as 16 hex
    // digits: what a staged snapshot of this plan is keyed by.
    std::string hash() const;
};

// A program kmsdk builds to run inside guests (the agent):
// $<env_override> when set, else the one built with this library, else the
// installed one. Throws, saying how to get it, when there is none.
std::filesystem::path guest_program(std::string_view name, const char* env_override);

// The agent binary for the guest's /init ($KMSDK_AGENT overrides).
std::filesystem::path agent_binary();

}  // namespace kmsdk::detail
