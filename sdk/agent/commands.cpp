// SPDX-License-Identifier: GPL-2.0
//
// Run: one shell command, its stdin given, its stdout, stderr and exit
// status returned.
#include "process.hpp"
#include "requests.hpp"

namespace kmsdk::agent {

Reply run_command(proto::PayloadReader& request)
{
    std::string command = request.bytes();
    std::string input = request.bytes();
    std::string cwd = request.bytes();

    auto result = run_process({"/bin/sh", "-c", command}, input, resolve_working_directory(cwd));
    return Reply{proto::Type::RunResult, proto::PayloadWriter{}
                                             .i32(result.status)
                                             .bytes(result.out)
                                             .bytes(result.err)
                                             .u64(result.elapsed_ns)
                                             .take()};
}

}  // namespace kmsdk::agent
