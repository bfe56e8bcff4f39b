// SPDX-License-Identifier: GPL-2.0
#include "command_words.hpp"

#include "kmsdk/guest.hpp"

#include <memory>
#include <string_view>

namespace kmsdk::cli {
namespace {

class UsageWithCommandWords : public CLI::Formatter {
public:
    explicit UsageWithCommandWords(std::string suffix) : suffix_{std::move(suffix)} {}

    std::string make_usage(const CLI::App* app, std::string name) const override
    {
        auto usage = CLI::Formatter::make_usage(app, std::move(name));
        auto end = usage.find_last_not_of('\n') + 1;
        return usage.substr(0, end) + suffix_ + usage.substr(end);
    }

private:
    std::string suffix_;
};

}  // namespace

SplitCommandLine split_at_separator(int argc, char** argv)
{
    SplitCommandLine split;
    split.option_count = argc;
    for (int i = 1; i < argc; ++i) {
        if (std::string_view{argv[i]} != "--")
            continue;
        split.option_count = i;
        split.has_separator = true;
        split.command_words.assign(argv + i + 1, argv + argc);
        break;
    }
    return split;
}

void show_command_words_in_usage(CLI::App& subcommand, CommandWords words)
{
    if (words == CommandWords::none)
        return;
    subcommand.formatter(std::make_shared<UsageWithCommandWords>(
        words == CommandWords::required ? " -- COMMAND..." : " [-- COMMAND...]"));
}

std::string as_shell_line(const std::vector<std::string>& words)
{
    if (words.size() == 1)
        return words.front();
    // describe() quotes each word exactly as sh reads it back.
    return kmsdk::Command{words}.describe();
}

}  // namespace kmsdk::cli
