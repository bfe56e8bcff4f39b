// SPDX-License-Identifier: GPL-2.0
//
// The Hello payload: what the host learns about the guest it reached.
#include "requests.hpp"
#include "system.hpp"

// The build system may name the build (a version, a hash of the sources);
// otherwise the compile time tells two agents apart.
#ifndef KMSDK_AGENT_BUILD_ID
#define KMSDK_AGENT_BUILD_ID __DATE__ " " __TIME__
#endif

namespace kmsdk::agent {

std::string hello_payload()
{
    return proto::PayloadWriter{}
        .bytes(kernel_release())
        .bytes(KMSDK_AGENT_BUILD_ID)
        .u64(boottime_ns())
        .take();
}

}  // namespace kmsdk::agent
