// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kmsdk {

// A template that cannot be read or used, or a project that cannot be
// made from one; the message says what to do instead.
class TemplateError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A module project to copy (`kmsdk new`): a folder with the files of a
// project written for one sample module, and its template.info, whose
// lines are key=value:
//   description=<one line>
//   sample=<the sample's module name, renamed in every file and file name>
//   replace=<from>=<to>     text to rename first; "{name}" in <to> is the new name
//   place=<file>=<path>     a file shipped under a plain name, put at <path>
//   max_name_length=<n>     when the name makes longer ones (an interface name)
struct ProjectTemplate {
    std::string name;
    std::string description;
    std::string sample;
    std::vector<std::pair<std::string, std::string>> replacements;
    std::vector<std::pair<std::string, std::string>> placements;
    std::size_t max_name_length = 0;
    std::filesystem::path dir;
};

// Every template in `templates_dir`, by name; throws TemplateError when the
// folder or a template.info cannot be read.
std::vector<ProjectTemplate> list_templates(const std::filesystem::path& templates_dir);
// One by name; throws TemplateError, listing the names there are.
ProjectTemplate find_template(const std::filesystem::path& templates_dir, std::string_view name);

}  // namespace kmsdk
