// SPDX-License-Identifier: GPL-2.0
// `kmsdk new TEMPLATE DIR`: a module project of one's own, from one of the
// templates installed with kmsdk (kmsdk/project_creation.hpp).
#include "commands.hpp"
#include "executable_dir.hpp"

#include "kmsdk/project_creation.hpp"
#include "kmsdk/project_template.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

namespace kmsdk::cli {
namespace {

std::filesystem::path templates_dir()
{
    return shipped_data("templates");
}

int list_all()
{
    auto templates = list_templates(templates_dir());
    std::size_t width = 0;
    for (const auto& known : templates)
        width = std::max(width, known.name.size());
    for (const auto& known : templates)
        fmt::print("{:<{}}  {}\n", known.name, width, known.description);
    return exit_ok;
}

int create(const std::string& name, const std::string& dir)
{
    auto from = find_template(templates_dir(), name);
    auto written = create_project(from, dir);
    auto module = module_name_for(dir, from);
    fmt::print("made {} from the {} template: the module {}, in {} files\n", dir, from.name,
               module, written.size());
    for (const auto& file : written)
        fmt::print("  {}\n", file.string());
    fmt::print("next: cd {} && cmake --workflow --preset default\n", dir);
    return exit_ok;
}

}  // namespace

Subcommand add_new_command(CLI::App& app)
{
    auto* command = app.add_subcommand(
        "new", "Make a module project of your own from a template: its module, named after DIR, "
               "a CMake build against the installed kmsdk, a guest test, a README, a dkms.conf "
               "and a GitHub workflow");
    struct Options {
        bool list = false;
        std::string template_name;
        std::string dir;
    };
    auto options = std::make_shared<Options>();
    command->add_flag("-l,--list", options->list, "List the templates, one line each");
    command->add_option("TEMPLATE", options->template_name, "The template (kmsdk new --list)");
    command->add_option("DIR", options->dir,
                        "The project's folder, new or empty; its last component names the module "
                        "(a lower-case C identifier)");
    command->footer("Then: cd DIR && cmake --workflow --preset default (configures, builds the "
                    "module for every cached kernel, and runs its test in a guest of each).");
    auto action = [command, options](const std::vector<std::string>&) {
        if (options->list)
            return list_all();
        if (options->template_name.empty() || options->dir.empty()) {
            fmt::print(stderr, "kmsdk new: give a TEMPLATE and a DIR (kmsdk new --list shows the "
                               "templates)\n{}",
                       command->help());
            return static_cast<int>(exit_usage);
        }
        return create(options->template_name, options->dir);
    };
    return {command, action};
}

}  // namespace kmsdk::cli
