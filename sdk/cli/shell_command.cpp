// SPDX-License-Identifier: GPL-2.0
#include "commands.hpp"
#include "guest_flags.hpp"

#include <fmt/format.h>

#include <memory>

namespace kmsdk::cli {

Command add_shell_command(CLI::App& app)
{
    auto flags = std::make_shared<GuestFlags>();
    auto* command = app.add_subcommand(
        "shell", "An interactive shell in a throw-away guest, with modules staged; exit or "
                 "Ctrl-D ends it and the guest");
    flags->add_to(*command);
    return {command, [flags] {
                auto guest = boot_guest(*flags);
                if (!flags->quiet)
                    fmt::print(stderr, "kmsdk: modules are in /lib/modules/{}/extra; 'exit' ends "
                                       "the guest\n", guest.release());
                int status = guest.interactive();
                guest.shutdown();
                return status;
            }};
}

}  // namespace kmsdk::cli
