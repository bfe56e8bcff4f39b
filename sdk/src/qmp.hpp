// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "deadline.hpp"
#include "unique_fd.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace kmsdk::detail {

// A client of QEMU's machine protocol (QMP) on a Unix socket: what stops,
// saves, restores and resumes a guest. Commands are answered in order;
// asynchronous events in between are skipped.
class Qmp {
public:
    // Connects (retrying while QEMU starts) and leaves the greeting's
    // capability negotiation behind it.
    static Qmp connect(const std::filesystem::path& socket, const Deadline& deadline);

    // The command's "return" value. Throws std::runtime_error with QEMU's
    // own description when it answers with an error, ChannelClosed when
    // QEMU goes away or the deadline passes.
    nlohmann::json execute(std::string_view command, const nlohmann::json& arguments,
                           const Deadline& deadline);
    nlohmann::json execute(std::string_view command, const Deadline& deadline)
    {
        return execute(command, nlohmann::json::object(), deadline);
    }

    // Hands QEMU a file descriptor under `name` (the getfd command), for a
    // later "fd:<name>" migration URI.
    void pass_fd(std::string_view name, int fd, const Deadline& deadline);

private:
    explicit Qmp(UniqueFd fd) : fd_{std::move(fd)} {}
    nlohmann::json read_message(const Deadline& deadline);
    nlohmann::json await_reply(std::string_view command, const Deadline& deadline);

    UniqueFd fd_;
    std::string buffer_;
};

}  // namespace kmsdk::detail
