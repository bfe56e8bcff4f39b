// SPDX-License-Identifier: GPL-2.0
// Labs as folders: reading lab.json, listing, starting a student's copy.
#include "kmsdk/lab.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <regex>

namespace kmsdk {

namespace fs = std::filesystem;

namespace {

constexpr const char* marker_file = ".kmsdk-lab";

std::string text_of(const nlohmann::json& object, const char* key, const std::string& where, bool required)
{
    if (!object.contains(key)) {
        if (required)
            throw LabError(fmt::format("{} has no \"{}\"", where, key));
        return {};
    }
    if (!object[key].is_string())
        throw LabError(fmt::format("{}: \"{}\" must be a string", where, key));
    return object[key].get<std::string>();
}

std::vector<std::string> texts_of(const nlohmann::json& object, const char* key, const std::string& where)
{
    std::vector<std::string> texts;
    if (!object.contains(key))
        return texts;
    if (!object[key].is_array())
        throw LabError(fmt::format("{}: \"{}\" must be a list of strings", where, key));
    for (const auto& item : object[key]) {
        if (!item.is_string())
            throw LabError(fmt::format("{}: \"{}\" must be a list of strings", where, key));
        texts.push_back(item.get<std::string>());
    }
    return texts;
}

// A pattern that does not compile is the lab's error, found when it is
// read rather than in the middle of a student's check.
std::string pattern_of(const nlohmann::json& step, const char* key, const std::string& where)
{
    auto pattern = text_of(step, key, where, false);
    try {
        std::regex{pattern, std::regex::ECMAScript | std::regex::multiline};
    } catch (const std::regex_error& error) {
        throw LabError(fmt::format("{}: \"{}\" is not a regular expression: {}", where, key, error.what()));
    }
    return pattern;
}

LabStep step_of(const nlohmann::json& step, const std::string& where)
{
    if (!step.is_object())
        throw LabError(fmt::format("{} must be an object", where));
    LabStep parsed;
    parsed.run = text_of(step, "run", where, true);
    if (step.contains("status")) {
        const auto& status = step["status"];
        if (status.is_number_integer())
            parsed.status = status.get<int>();
        else if (status == "nonzero")
            parsed.status.reset();
        else
            throw LabError(fmt::format("{}: \"status\" must be a number or \"nonzero\"", where));
    }
    parsed.stdout_pattern = pattern_of(step, "stdout", where);
    parsed.stderr_pattern = pattern_of(step, "stderr", where);
    parsed.dmesg_pattern = pattern_of(step, "dmesg", where);
    parsed.hint = text_of(step, "hint", where, false);
    return parsed;
}

}  // namespace

unsigned Lab::points() const
{
    return std::accumulate(tasks.begin(), tasks.end(), 0u,
                           [](unsigned sum, const LabTask& task) { return sum + task.points; });
}

Lab Lab::read(const fs::path& dir)
{
    auto file = dir / "lab.json";
    std::ifstream in{file};
    if (!in)
        throw LabError(fmt::format("{} is missing: {} is not a lab", file.string(), dir.string()));
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& error) {
        throw LabError(fmt::format("{} is not valid JSON: {}", file.string(), error.what()));
    }
    auto where = file.string();
    if (!json.is_object())
        throw LabError(fmt::format("{} must hold an object", where));
    Lab lab;
    lab.name = fs::absolute(dir).lexically_normal().filename().string();
    if (lab.name.empty())
        lab.name = fs::absolute(dir).lexically_normal().parent_path().filename().string();
    lab.dir = dir;
    lab.title = text_of(json, "title", where, true);
    lab.summary = text_of(json, "summary", where, false);
    lab.modules = texts_of(json, "modules", where);
    lab.devices = texts_of(json, "devices", where);
    if (lab.modules.empty())
        throw LabError(fmt::format("{}: \"modules\" must name the modules a student's build makes", where));
    if (!json.contains("tasks") || !json["tasks"].is_array() || json["tasks"].empty())
        throw LabError(fmt::format("{}: \"tasks\" must be a list of tasks", where));
    for (std::size_t i = 0; i < json["tasks"].size(); ++i) {
        const auto& task = json["tasks"][i];
        auto task_where = fmt::format("{}, task {}", where, i + 1);
        if (!task.is_object())
            throw LabError(fmt::format("{} must be an object", task_where));
        LabTask parsed;
        parsed.title = text_of(task, "title", task_where, true);
        if (!task.contains("points") || !task["points"].is_number_unsigned() || task["points"].get<unsigned>() == 0)
            throw LabError(fmt::format("{}: \"points\" must be a number above 0", task_where));
        parsed.points = task["points"].get<unsigned>();
        if (!task.contains("steps") || !task["steps"].is_array() || task["steps"].empty())
            throw LabError(fmt::format("{}: \"steps\" must be a list of steps", task_where));
        for (std::size_t s = 0; s < task["steps"].size(); ++s)
            parsed.steps.push_back(step_of(task["steps"][s], fmt::format("{}, step {}", task_where, s + 1)));
        lab.tasks.push_back(std::move(parsed));
    }
    return lab;
}

std::vector<Lab> list_labs(const fs::path& labs_dir)
{
    std::error_code error;
    fs::directory_iterator entries{labs_dir, error};
    if (error)
        throw LabError(fmt::format("cannot read the labs in {}: {}; reinstall kmsdk, or set KMSDK_LABS",
                                   labs_dir.string(), error.message()));
    std::vector<Lab> labs;
    for (const auto& entry : entries)
        if (entry.is_directory() && fs::exists(entry.path() / "lab.json"))
            labs.push_back(Lab::read(entry.path()));
    std::sort(labs.begin(), labs.end(), [](const Lab& a, const Lab& b) { return a.name < b.name; });
    return labs;
}

Lab find_lab(const fs::path& labs_dir, std::string_view name)
{
    auto labs = list_labs(labs_dir);
    for (auto& lab : labs)
        if (lab.name == name)
            return lab;
    std::string known;
    for (const auto& lab : labs)
        known += (known.empty() ? "" : ", ") + lab.name;
    throw LabError(fmt::format("there is no lab '{}'; the labs are: {} (kmsdk lab list)", name, known));
}

void start_lab(const Lab& lab, const fs::path& dir)
{
    if (fs::exists(dir) && !(fs::is_directory(dir) && fs::is_empty(dir)))
        throw LabError(fmt::format("{} already exists and is not an empty folder; start the lab in a new one",
                                   dir.string()));
    auto skeleton = lab.dir / "skeleton";
    if (!fs::is_directory(skeleton))
        throw LabError(fmt::format("the lab {} has no skeleton/ in {}; reinstall kmsdk", lab.name, lab.dir.string()));
    fs::create_directories(dir);
    fs::copy(skeleton, dir, fs::copy_options::recursive);
    fs::copy_file(lab.dir / "README.md", dir / "README.md", fs::copy_options::overwrite_existing);
    std::ofstream{dir / marker_file} << "lab=" << lab.name << "\n";
    // Copies of an installed tree keep its read-only modes.
    for (const auto& entry : fs::recursive_directory_iterator{dir})
        fs::permissions(entry.path(), fs::perms::owner_write, fs::perm_options::add);
    fs::permissions(dir, fs::perms::owner_write, fs::perm_options::add);
}

std::string lab_of(const fs::path& dir)
{
    std::ifstream in{dir / marker_file};
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("lab="))
            return line.substr(4);
    return {};
}

}  // namespace kmsdk
