// SPDX-License-Identifier: GPL-2.0
#include "command_words.hpp"
#include "commands.hpp"
#include "forwarded_signals.hpp"
#include "guest_flags.hpp"

#include <fmt/format.h>

#include <memory>

namespace kmsdk::cli {

Subcommand add_shell_command(CLI::App& app)
{
    auto flags = std::make_shared<GuestFlags>();
    auto* command = app.add_subcommand(
        "shell", "An interactive shell in a throw-away guest, with modules staged; exit or "
                 "Ctrl-D ends it and the guest");
    flags->add_to(*command);
    command->footer("After '--', a command to run on the guest's terminal instead of the shell: "
                    "one word is a shell command line, two or more an argument vector.\n"
                    "Examples:\n"
                    "  kmsdk shell -m kms_params.ko\n"
                    "  kmsdk shell -- top\n"
                    "  kmsdk shell -- vi /etc/modprobe.d/kmsdk.conf");
    auto action = [flags](const std::vector<std::string>& words) {
        auto guest = boot_guest(*flags);
        if (!flags->quiet && words.empty())
            fmt::print(stderr, "kmsdk: modules are in /lib/modules/{}/extra; 'exit' ends "
                               "the guest\n", guest.release());
        int status = guest.interactive(words.empty() ? "" : as_shell_line(words));
        if (int signal = ForwardedSignals::install().take_undelivered())
            throw_interrupted(signal, "after the session ended");
        guest.shutdown();
        return status;
    };
    return {command, action, CommandWords::optional};
}

}  // namespace kmsdk::cli
