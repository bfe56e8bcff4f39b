// SPDX-License-Identifier: GPL-2.0
// `kmsdk new`: a module project written from a template, renamed for the
// new module.
#include "kmsdk/project_creation.hpp"

#include <fmt/format.h>

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace kmsdk {
namespace {

namespace fs = std::filesystem;

// The kernel's MODULE_NAME_LEN is 56, its terminating NUL included.
constexpr std::size_t max_module_name = 55;

std::string upper(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

void replace_all(std::string& text, std::string_view from, std::string_view to)
{
    if (from.empty() || from == to)
        return;
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
}

// The template's own replacements, then the sample's name in any form the
// sources use, become the module's.
class Renamer {
public:
    Renamer(const ProjectTemplate& from, std::string module) : from_{from}, module_{std::move(module)}
    {
    }

    std::string operator()(std::string text) const
    {
        for (const auto& [before, after] : from_.replacements) {
            std::string renamed = after;
            replace_all(renamed, "{name}", module_);
            replace_all(text, before, renamed);
        }
        replace_all(text, from_.sample, module_);
        replace_all(text, upper(from_.sample), upper(module_));
        return text;
    }

private:
    const ProjectTemplate& from_;
    std::string module_;
};

std::string read_file(const fs::path& path)
{
    std::ifstream in{path, std::ios::binary};
    std::ostringstream contents;
    contents << in.rdbuf();
    if (!in)
        throw TemplateError{fmt::format("cannot read {}; reinstall kmsdk", path.string())};
    return contents.str();
}

void write_file(const fs::path& path, const std::string& contents, fs::perms perms)
{
    fs::create_directories(path.parent_path());
    std::ofstream out{path, std::ios::binary};
    out << contents;
    out.close();
    if (!out)
        throw TemplateError{fmt::format("cannot write {}: is the disk full?", path.string())};
    fs::permissions(path, perms);
}

// The folder a project is written in before it is renamed into place:
// beside it, so the rename stays within one filesystem. Removed with what
// it holds unless the project was put in place.
class ProjectDraft {
public:
    explicit ProjectDraft(const fs::path& project_dir)
    {
        auto pattern = (project_dir.parent_path() / ("." + project_dir.filename().string() +
                                                     ".kmsdk-new-XXXXXX"))
                           .string();
        if (::mkdtemp(pattern.data()) == nullptr)
            throw TemplateError{fmt::format("cannot make a folder in {}: {}",
                                            project_dir.parent_path().string(),
                                            std::strerror(errno))};
        path_ = pattern;
        // mkdtemp's folder is private; the project gets what the umask gives.
        auto mask = ::umask(0);
        ::umask(mask);
        fs::permissions(path_, fs::perms::all & ~static_cast<fs::perms>(mask));
    }
    ProjectDraft(const ProjectDraft&) = delete;
    ProjectDraft& operator=(const ProjectDraft&) = delete;
    ~ProjectDraft()
    {
        if (!path_.empty()) {
            std::error_code ignored;
            fs::remove_all(path_, ignored);
        }
    }

    const fs::path& path() const { return path_; }

    void move_to(const fs::path& project_dir)
    {
        std::error_code error;
        // An empty folder the user made for the project is replaced.
        if (fs::exists(project_dir))
            fs::remove(project_dir, error);
        if (!error)
            fs::rename(path_, project_dir, error);
        if (error)
            throw TemplateError{fmt::format("cannot put the project in {}: {}",
                                            project_dir.string(), error.message())};
        path_.clear();
    }

private:
    fs::path path_;
};

// "x/" and "x/." name the folder x.
fs::path without_trailing_separator(const fs::path& dir)
{
    auto normal = dir.lexically_normal();
    if (normal.filename().empty() || normal.filename() == ".")
        normal = normal.parent_path();
    return normal;
}

}  // namespace

std::string module_name_for(const fs::path& project_dir, const ProjectTemplate& from)
{
    auto name = without_trailing_separator(fs::absolute(project_dir)).filename().string();
    std::size_t longest = from.max_name_length ? std::min(from.max_name_length, max_module_name)
                                               : max_module_name;
    bool identifier = !name.empty() && std::islower(static_cast<unsigned char>(name[0]));
    for (unsigned char c : name)
        identifier = identifier && (std::islower(c) || std::isdigit(c) || c == '_');
    if (!identifier) {
        std::string suggestion;
        for (unsigned char c : name)
            suggestion += std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '_';
        if (suggestion.empty() || !std::islower(static_cast<unsigned char>(suggestion[0])))
            suggestion = "my_" + suggestion;
        throw TemplateError{fmt::format(
            "the module is named after the folder, and `{}` is not a lower-case C identifier "
            "(a-z, 0-9 and _, starting with a letter): try {}",
            name, (without_trailing_separator(project_dir).parent_path() / suggestion).string())};
    }
    if (name.size() > longest)
        throw TemplateError{fmt::format("`{}` has {} characters; the {} template takes at most {} "
                                        "for a module name: choose a shorter folder name",
                                        name, name.size(), from.name, longest)};
    return name;
}

std::vector<fs::path> create_project(const ProjectTemplate& from, const fs::path& project_dir)
{
    auto module = module_name_for(project_dir, from);
    auto target = without_trailing_separator(fs::absolute(project_dir));
    std::error_code error;
    if (fs::exists(target, error)) {
        if (!fs::is_directory(target))
            throw TemplateError{fmt::format("{} exists and is not a folder: choose another name",
                                            project_dir.string())};
        if (!fs::is_empty(target))
            throw TemplateError{fmt::format("{} exists and is not empty: kmsdk new writes only "
                                            "into a new or empty folder",
                                            project_dir.string())};
    }
    fs::create_directories(target.parent_path(), error);
    if (error)
        throw TemplateError{fmt::format("cannot make {}: {}", target.parent_path().string(),
                                        error.message())};

    Renamer rename{from, module};
    ProjectDraft draft{target};
    std::vector<fs::path> written;
    for (const auto& entry : fs::recursive_directory_iterator{from.dir}) {
        if (!entry.is_regular_file())
            continue;
        auto shipped = entry.path().lexically_relative(from.dir);
        if (shipped == "template.info")
            continue;
        auto placed = shipped.generic_string();
        for (const auto& [file, path] : from.placements)
            if (placed == file)
                placed = path;
        fs::path relative = rename(placed);
        write_file(draft.path() / relative, rename(read_file(entry.path())),
                   fs::status(entry.path()).permissions());
        written.push_back(relative);
    }
    draft.move_to(target);
    std::sort(written.begin(), written.end());
    return written;
}

}  // namespace kmsdk
