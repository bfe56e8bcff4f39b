// SPDX-License-Identifier: GPL-2.0
#include "kmsdk/guest.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstring>

#include <stdexcept>

namespace kmsdk {
namespace {

// Whether a shell would read the word as itself.
bool plain_word(std::string_view word)
{
    if (word.empty())
        return false;
    for (char c : word)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view{"-_./=:,+%@"}.find(c) != std::string_view::npos))
            return false;
    return true;
}

}  // namespace

Command Command::shell(std::string_view line)
{
    return Command{{"/bin/sh", "-c", std::string{line}}};
}

Command Command::from_words(std::vector<std::string> words)
{
    if (words.empty())
        throw std::invalid_argument("a command needs at least one word");
    if (words.size() == 1)
        return shell(words.front());
    return Command{std::move(words)};
}

std::string Command::describe() const
{
    // A shell line reads best as the user wrote it.
    if (argv.size() == 3 && argv[0] == "/bin/sh" && argv[1] == "-c")
        return argv[2];
    std::string text;
    for (const auto& word : argv) {
        if (!text.empty())
            text += ' ';
        if (plain_word(word)) {
            text += word;
            continue;
        }
        text += '\'';
        for (char c : word)
            text += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
        text += '\'';
    }
    return text;
}

std::string signal_name(int signal)
{
    const char* abbreviation = ::sigabbrev_np(signal);
    return abbreviation ? fmt::format("SIG{}", abbreviation) : fmt::format("signal {}", signal);
}

InputSource InputSource::bytes(std::string data)
{
    InputSource source;
    source.has_bytes_ = true;
    source.data_ = std::move(data);
    return source;
}

InputSource InputSource::descriptor(int fd)
{
    InputSource source;
    source.fd_ = fd;
    return source;
}

}  // namespace kmsdk
