// SPDX-License-Identifier: GPL-2.0
//
// BootPass: what a distribution's early userland does for modules, done
// once the host has staged its modules:
//   1. depmod indexes /lib/modules/<release> (the staged modules with the
//      kernel's own), so that modprobe knows them;
//   2. modprobe each module /etc/modules-load.d lists, as
//      systemd-modules-load does;
//   3. coldplug, as udev does at boot: modprobe the modalias of every
//      device that has no driver yet.
// Each step is logged to the reply's log; the tools' own stderr goes to its
// errors.
#include "process.hpp"
#include "requests.hpp"
#include "system.hpp"

#include <fcntl.h>
#include <fnmatch.h>

#include <map>
#include <set>

namespace kmsdk::agent {
namespace {

struct PassLog {
    std::string out;
    std::string err;
    int status = 0;  // the last failure of a step that must succeed
};

std::string milliseconds(std::uint64_t ns)
{
    return std::to_string(ns / 1'000'000) + " ms";
}

ProcessResult run_tool(PassLog& log, const std::vector<std::string>& argv, bool must_succeed)
{
    log.out += "$";
    for (const auto& arg : argv)
        log.out += " " + arg;
    log.out += "\n";
    auto result = run_process(argv, "/");
    log.out += result.out;
    log.err += result.err;
    log.out += "  exit " + std::to_string(result.status) + ", " + milliseconds(result.elapsed_ns) +
               "\n";
    if (must_succeed && result.status != 0)
        log.status = result.status;
    return result;
}

std::vector<std::string> lines_of(const std::string& path)
{
    auto content = read_whole_file(path);
    return content ? split_lines(*content) : std::vector<std::string>{};
}

bool ends_with(std::string_view text, std::string_view suffix)
{
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::set<std::string> loaded_modules()
{
    std::set<std::string> names;
    for (const auto& line : lines_of("/proc/modules"))
        names.insert(line.substr(0, line.find(' ')));
    return names;
}

void load_listed_modules(PassLog& log)
{
    const std::string dir = "/etc/modules-load.d";
    for (const auto& file : list_directory(dir)) {
        if (!ends_with(file, ".conf"))
            continue;
        log.out += "modules-load.d: " + dir + "/" + file + "\n";
        for (const auto& raw : lines_of(dir + "/" + file)) {
            auto name = trimmed(raw);
            if (name.empty() || name.front() == '#' || name.front() == ';')
                continue;
            run_tool(log, {"/sbin/modprobe", name}, true);
        }
    }
}

// The alias patterns modprobe will look at: modules.alias as depmod just
// wrote it, and "alias" lines of the modprobe configuration. Asking
// modprobe only about modaliases that match one of them gives the same
// result as asking about every one, without a fork and exec per device
// (most devices match nothing that was staged).
struct AliasPatterns {
    bool known = false;  // modules.alias could be read
    std::vector<std::string> patterns;

    bool match(const std::string& modalias) const
    {
        if (!known)
            return true;
        for (const auto& pattern : patterns)
            if (::fnmatch(pattern.c_str(), modalias.c_str(), 0) == 0)
                return true;
        return false;
    }
};

void add_alias_lines(AliasPatterns& aliases, const std::string& path)
{
    for (const auto& line : lines_of(path)) {
        auto words = split_words(line);
        if (words.size() >= 2 && words[0] == "alias")
            aliases.patterns.push_back(words[1]);
    }
}

AliasPatterns read_alias_patterns()
{
    AliasPatterns aliases;
    const std::string index = "/lib/modules/" + kernel_release() + "/modules.alias";
    aliases.known = path_exists(index);
    add_alias_lines(aliases, index);
    add_alias_lines(aliases, "/etc/modprobe.conf");
    for (const auto& file : list_directory("/etc/modprobe.d"))
        if (ends_with(file, ".conf"))
            add_alias_lines(aliases, "/etc/modprobe.d/" + file);
    return aliases;
}

// modalias → the first device (a /sys/bus path) that has it, for every
// device that has a modalias and no driver.
std::map<std::string, std::string> modaliases_without_driver()
{
    std::map<std::string, std::string> aliases;
    for (const auto& bus : list_directory("/sys/bus")) {
        const std::string devices = "/sys/bus/" + bus + "/devices";
        for (const auto& device : list_directory(devices)) {
            const std::string path = devices + "/" + device;
            if (path_exists(path + "/driver"))
                continue;
            auto modalias = read_sysfs_value(path + "/modalias");
            if (!modalias.empty())
                aliases.emplace(modalias, path);
        }
    }
    return aliases;
}

void coldplug(PassLog& log)
{
    const auto patterns = read_alias_patterns();
    if (!patterns.known)
        log.out += "coldplug: no modules.alias; asking modprobe about every modalias\n";
    std::set<std::string> tried;
    // A driver that binds can add devices (a bus under a bridge): look
    // again while a round loads something, as udev would on their uevents.
    for (int round = 1; round <= 4; ++round) {
        auto aliases = modaliases_without_driver();
        std::size_t matching = 0;
        bool loaded_any = false;
        for (const auto& [modalias, device] : aliases) {
            if (tried.count(modalias) || !patterns.match(modalias))
                continue;
            tried.insert(modalias);
            ++matching;
            auto before = loaded_modules();
            log.out += "coldplug: " + device + "\n";
            run_tool(log, {"/sbin/modprobe", "-q", modalias}, false);
            std::string loaded;
            for (const auto& name : loaded_modules())
                if (!before.count(name))
                    loaded += " " + name;
            log.out += loaded.empty() ? "  loaded nothing\n" : "  loaded:" + loaded + "\n";
            loaded_any = loaded_any || !loaded.empty();
        }
        log.out += "coldplug round " + std::to_string(round) + ": " +
                   std::to_string(aliases.size()) + " modaliases without a driver, " +
                   std::to_string(matching) + " new that a module may serve\n";
        if (!loaded_any)
            break;
    }
}

// A guest saved after its boot pass (a staged snapshot) is asked for the
// log after the restore. Best effort: the pass itself went as the reply says.
void keep_log(const std::string& text)
{
    std::string path{proto::boot_pass_log_path};
    if (!make_directories(path.substr(0, path.rfind('/'))))
        return;
    UniqueFd file{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (file)
        write_all(file.get(), text);
}

}  // namespace

proto::BootPassResult boot_pass()
{
    const auto started = monotonic_ns();
    PassLog log;

    const std::string tree = "/lib/modules/" + kernel_release();
    if (!make_directories(tree))
        log.err += "kmsdk-agent: cannot make " + tree + ": " + errno_text(errno) + "\n";
    log.out += "depmod: indexing " + tree + "\n";
    run_tool(log, {"/sbin/depmod"}, true);

    load_listed_modules(log);
    coldplug(log);
    log.out += "boot pass done in " + milliseconds(monotonic_ns() - started) + "\n";
    keep_log(log.out);
    return proto::BootPassResult{log.status, std::move(log.out), std::move(log.err)};
}

}  // namespace kmsdk::agent
