// SPDX-License-Identifier: GPL-2.0
//
// One function per request type. Each reads its fields from the request's
// payload and returns the reply, or throws RequestError (or anything else
// derived from std::exception) to make the dispatcher send an Error frame.
#pragma once

#include "kmsdk/protocol.hpp"

#include <cstdint>
#include <string>

namespace kmsdk::agent {

class Channel;

struct Reply {
    proto::Type type = proto::Type::Ok;
    std::string payload;
};

// Hello: release, agent build id, uptime. Sent unsolicited at start and as
// the answer to Ping.
std::string hello_payload();

Reply run_command(proto::PayloadReader& request);        // commands.cpp
Reply put_file(proto::PayloadReader& request);           // files.cpp
Reply get_file(proto::PayloadReader& request);           // files.cpp
Reply insert_module(proto::PayloadReader& request);      // modules.cpp
Reply remove_module(proto::PayloadReader& request);      // modules.cpp
Reply boot_pass();                                       // boot_pass.cpp
Reply read_kernel_log(proto::PayloadReader& request);    // kernel_log.cpp
Reply resume(proto::PayloadReader& request);             // resume.cpp

// PtyOpen: runs the whole session, sending PtyOutput and finally PtyExit
// with the request's id itself. Throws (RequestError) only if the session
// could not start; the caller then replies Error.
void serve_pty_session(Channel& channel, std::uint32_t id, proto::PayloadReader& request);

// Loads the modules /etc/kmsdk/channel-modules lists (modules.cpp), so that
// the port can appear. Problems are logged, not fatal: on a kernel with
// virtio built in the list is empty.
void load_channel_modules();

}  // namespace kmsdk::agent
