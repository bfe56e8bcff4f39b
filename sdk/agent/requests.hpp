// SPDX-License-Identifier: GPL-2.0
//
// One function per request type. Each takes its decoded request and returns
// the reply, or throws RequestError (or anything else derived from
// std::exception) to make the dispatcher send an Error frame.
#pragma once

#include "kmsdk/proto/messages.hpp"

#include <cstdint>

namespace kmsdk::agent {

class Channel;

// Release, agent build id, uptime. Sent unsolicited at start and as the
// answer to Ping.
proto::Hello hello();                                                // hello.cpp
proto::Ok put_file(const proto::PutFile& request);                   // files.cpp
proto::FileData get_file(const proto::GetFile& request);             // files.cpp
proto::ModuleResult insert_module(const proto::Insmod& request);     // modules.cpp
proto::ModuleResult remove_module(const proto::Rmmod& request);      // modules.cpp
proto::BootPassResult boot_pass();                                   // boot_pass.cpp
proto::KernelLog read_kernel_log(const proto::ReadKernelLog& request);  // kernel_log.cpp
// Reads the log so far into read_kernel_log()'s cache (kernel_log.cpp).
void read_boot_log();
proto::Resumed resume(const proto::Resume& request);                 // resume.cpp

// Run (run.cpp): starts the command and relays it until it has exited,
// sending Output and finally Exited with the request's id itself. Throws
// (RequestError) if the command could not start, or the relay failed; the
// caller then replies Error, which ends the Run for the host.
void serve_run(Channel& channel, std::uint32_t id, const proto::Run& request);

// Loads the modules /etc/kmsdk/channel-modules lists (modules.cpp), so that
// the port can appear. Problems are logged, not fatal: on a kernel with
// virtio built in the list is empty.
void load_channel_modules();

}  // namespace kmsdk::agent
