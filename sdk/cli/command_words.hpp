// SPDX-License-Identifier: GPL-2.0
// The guest command after "--". kmsdk splits the command line there
// itself, before CLI11 sees it: a parser given the whole line reads the
// command's own options (`sh -c`, `ls -l`) as kmsdk's, or takes its words
// as values of a repeatable option before "--".
#pragma once

#include "commands.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace kmsdk::cli {

struct SplitCommandLine {
    int option_count = 0;  // argv[0..option_count) is kmsdk's, for CLI11
    bool has_separator = false;
    std::vector<std::string> command_words;  // after the first "--"
};

SplitCommandLine split_at_separator(int argc, char** argv);

// Shows "-- COMMAND..." (or "[-- COMMAND...]") in the subcommand's usage
// line, which CLI11 cannot know of.
void show_command_words_in_usage(CLI::App& subcommand, CommandWords words);

// The words as one line for a shell that runs them as `kmsdk run` would:
// one word is already a command line, two or more are quoted as an
// argument vector.
std::string as_shell_line(const std::vector<std::string>& words);

}  // namespace kmsdk::cli
