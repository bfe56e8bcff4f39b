// SPDX-License-Identifier: GPL-2.0
//
// Hello: what the host learns about the guest it reached.
#include "requests.hpp"
#include "system.hpp"

// The build system may name the build (a version, a hash of the sources);
// otherwise the compile time tells two agents apart.
#ifndef KMSDK_AGENT_BUILD_ID
#define KMSDK_AGENT_BUILD_ID __DATE__ " " __TIME__
#endif

namespace kmsdk::agent {

proto::Hello hello()
{
    proto::Hello message;  // protocol_version is this build's
    message.release = kernel_release();
    message.agent_build = KMSDK_AGENT_BUILD_ID;
    message.uptime_ns = boottime_ns();
    return message;
}

}  // namespace kmsdk::agent
