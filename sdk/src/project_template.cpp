// SPDX-License-Identifier: GPL-2.0
// The catalog of `kmsdk new`: templates read from their template.info.
#include "kmsdk/project_template.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>

namespace kmsdk {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view info_file = "template.info";

// "from=to" -> {from, to}, split at the first '='.
std::pair<std::string, std::string> split_pair(std::string_view value, const fs::path& info,
                                               std::string_view key)
{
    auto equals = value.find('=');
    if (equals == std::string_view::npos || equals == 0)
        throw TemplateError{fmt::format("{}: `{}={}` is not <from>=<to>; reinstall kmsdk",
                                        info.string(), key, value)};
    return {std::string{value.substr(0, equals)}, std::string{value.substr(equals + 1)}};
}

ProjectTemplate read_template(const fs::path& dir)
{
    auto info = dir / info_file;
    std::ifstream in{info};
    if (!in)
        throw TemplateError{fmt::format("cannot read {}; reinstall kmsdk", info.string())};
    ProjectTemplate read;
    read.name = dir.filename().string();
    read.dir = dir;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line.starts_with('#'))
            continue;
        auto equals = line.find('=');
        if (equals == std::string::npos)
            throw TemplateError{fmt::format("{}: `{}` is not key=value; reinstall kmsdk",
                                            info.string(), line)};
        std::string_view key{line.data(), equals};
        std::string_view value{line.data() + equals + 1, line.size() - equals - 1};
        if (key == "description") {
            read.description = value;
        } else if (key == "sample") {
            read.sample = value;
        } else if (key == "replace") {
            read.replacements.push_back(split_pair(value, info, key));
        } else if (key == "place") {
            read.placements.push_back(split_pair(value, info, key));
        } else if (key == "max_name_length") {
            auto [end, error] = std::from_chars(value.data(), value.data() + value.size(),
                                                read.max_name_length);
            if (error != std::errc{} || end != value.data() + value.size())
                throw TemplateError{fmt::format("{}: max_name_length `{}` is not a number",
                                                info.string(), value)};
        }
        // Other keys are for newer kmsdk versions: a template stays usable.
    }
    if (read.sample.empty())
        throw TemplateError{fmt::format("{} names no sample; reinstall kmsdk", info.string())};
    return read;
}

}  // namespace

std::vector<ProjectTemplate> list_templates(const fs::path& templates_dir)
{
    std::error_code error;
    fs::directory_iterator entries{templates_dir, error};
    if (error)
        throw TemplateError{fmt::format("cannot read the templates in {}: {}; reinstall kmsdk",
                                        templates_dir.string(), error.message())};
    std::vector<ProjectTemplate> templates;
    for (const auto& entry : entries)
        if (entry.is_directory() && fs::exists(entry.path() / info_file))
            templates.push_back(read_template(entry.path()));
    std::sort(templates.begin(), templates.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    return templates;
}

ProjectTemplate find_template(const fs::path& templates_dir, std::string_view name)
{
    auto templates = list_templates(templates_dir);
    for (auto& found : templates)
        if (found.name == name)
            return std::move(found);
    std::string names;
    for (const auto& known : templates)
        names += fmt::format("{}{}", names.empty() ? "" : ", ", known.name);
    throw TemplateError{fmt::format("no template `{}`: there are {} (kmsdk new --list)", name,
                                    names.empty() ? "none" : names)};
}

}  // namespace kmsdk
