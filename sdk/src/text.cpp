// SPDX-License-Identifier: GPL-2.0
#include "text.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace kmsdk::detail {

std::vector<std::string> split(const std::string& text, char separator)
{
    std::vector<std::string> parts;
    std::istringstream stream{text};
    for (std::string part; std::getline(stream, part, separator);)
        if (!part.empty())
            parts.push_back(part);
    return parts;
}

std::string last_lines(const std::string& text, std::size_t count)
{
    std::size_t end = text.size();
    // A trailing newline does not start a line of its own.
    if (end > 0 && text[end - 1] == '\n')
        --end;
    std::size_t start = end;
    while (count > 0) {
        auto newline = start == 0 ? std::string::npos : text.rfind('\n', start - 1);
        if (newline == std::string::npos) {
            start = 0;
            break;
        }
        start = newline;
        --count;
    }
    return text.substr(start == 0 ? 0 : start + 1);
}

std::string seconds(std::chrono::milliseconds duration)
{
    return fmt::format("{:.1f} s", static_cast<double>(duration.count()) / 1000.0);
}

std::string one_line(std::string text)
{
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    for (auto newline = text.find('\n'); newline != std::string::npos; newline = text.find('\n'))
        text.replace(newline, 1, "; ");
    return text;
}

std::string read_if_present(const std::filesystem::path& path)
{
    std::ifstream in{path, std::ios::binary};
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace kmsdk::detail
