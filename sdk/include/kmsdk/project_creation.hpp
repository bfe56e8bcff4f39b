// SPDX-License-Identifier: GPL-2.0
#pragma once

#include "kmsdk/project_template.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kmsdk {

// The module a new project in `project_dir` makes: the folder's last
// component, which must be a lower-case C identifier short enough for the
// kernel's module names (and for what the template derives from it).
// Throws TemplateError naming a name that would do.
std::string module_name_for(const std::filesystem::path& project_dir, const ProjectTemplate& from);

// Writes a new project into `project_dir` from the template: every file,
// with the sample's name renamed to the module's, in names and contents.
// The folder must not exist, or be empty. The project is written aside
// and renamed into place, so a failure leaves nothing behind. Returns
// the files written, relative to the project.
std::vector<std::filesystem::path> create_project(const ProjectTemplate& from,
                                                  const std::filesystem::path& project_dir);

}  // namespace kmsdk
