// SPDX-License-Identifier: GPL-2.0
#include "kmsdk/initramfs.hpp"

#include "kmsdk/cpio.hpp"
#include "kmsdk/module_closure.hpp"
#include "guest_tools.hpp"
#include "host_command.hpp"
#include "text.hpp"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include <elf.h>
#include <sys/stat.h>

namespace kmsdk {
namespace fs = std::filesystem;
namespace {

// Bump when the archive's layout changes, so cached archives are rebuilt.
constexpr std::uint64_t layout_version = 5;

// busybox modinfo and depmod need these; the agent runs depmod at boot,
// and modules.builtin is how it learns which modules are built in.
constexpr std::array<std::string_view, 3> module_indexes = {
    "modules.builtin", "modules.builtin.modinfo", "modules.order"};

// /mnt too: the place a user mounts a filesystem on, as on any Debian.
constexpr std::array<std::string_view, 16> base_directories = {
    "bin", "sbin", "usr/bin", "usr/sbin", "etc",  "etc/kmsdk", "etc/modprobe.d",
    "etc/modules-load.d", "proc", "sys", "dev", "tmp", "run", "root", "lib/modules", "mnt"};

// A stale temporary file is one a builder left behind when it died; a
// younger one may belong to a builder still at work.
constexpr auto abandoned_after = std::chrono::hours{1};

// Everything that goes into the archive, read once: it is both hashed
// into the cache key and written.
struct Ingredients {
    std::string release;
    std::string agent;
    std::string busybox;
    detail::GuestTools tools;
    std::vector<KernelModuleFile> modules;
    std::vector<std::string> module_sources;  // as cached, maybe compressed
    std::vector<std::pair<std::string_view, std::string>> indexes;
};

// A dynamically linked /init or busybox finds no libc in the guest and
// fails with a bare "not found" or a kernel panic: refuse it here.
void require_static(const std::string& bytes, const fs::path& path, std::string_view advice)
{
    if (bytes.size() < sizeof(Elf64_Ehdr) || !bytes.starts_with(ELFMAG) ||
        bytes[EI_CLASS] != ELFCLASS64)
        return;
    Elf64_Ehdr header;
    std::memcpy(&header, bytes.data(), sizeof header);
    for (unsigned i = 0; i < header.e_phnum; ++i) {
        auto offset = header.e_phoff + std::size_t{i} * header.e_phentsize;
        if (offset + sizeof(Elf64_Phdr) > bytes.size())
            return;
        Elf64_Phdr program_header;
        std::memcpy(&program_header, bytes.data() + offset, sizeof program_header);
        if (program_header.p_type == PT_INTERP)
            throw std::runtime_error(fmt::format(
                "{} is dynamically linked, and the guest has no shared libraries; {}",
                path.string(), advice));
    }
}

Ingredients gather(const InitramfsInputs& inputs)
{
    Ingredients parts;
    parts.release = inputs.kernel.release();

    if (!fs::is_regular_file(inputs.agent))
        throw std::runtime_error(fmt::format(
            "the guest agent {} does not exist; build it first (cmake --build build)",
            inputs.agent.string()));
    parts.agent = read_file(inputs.agent);
    require_static(parts.agent, inputs.agent, "build the agent with -static");

    if (!fs::is_regular_file(inputs.busybox))
        throw std::runtime_error(fmt::format(
            "busybox is not at {}; install busybox-static (apt-get install busybox-static)",
            inputs.busybox.string()));
    parts.busybox = read_file(inputs.busybox);
    require_static(parts.busybox, inputs.busybox,
                   "install busybox-static (apt-get install busybox-static)");

    if (inputs.debian_tools)
        parts.tools = detail::find_guest_tools(detail::default_guest_tools());

    parts.modules = ModuleClosure{inputs.kernel}.resolve(inputs.channel_modules);
    for (const auto& module : parts.modules)
        parts.module_sources.push_back(read_file(module.source));

    auto modules_dir = inputs.kernel.modules_dir();
    for (auto index : module_indexes)
        parts.indexes.emplace_back(index, read_file(modules_dir / index));
    return parts;
}

std::string cache_key(const Ingredients& parts)
{
    ContentHash hash;
    hash.add(layout_version).add(parts.release).add(parts.agent).add(parts.busybox);
    // The host's tools by name, size and time: a package upgrade changes
    // them, and reading their bytes for every guest would cost more.
    hash.add(parts.tools.files.size());
    for (const auto& file : parts.tools.files)
        hash.add(file.guest_path.string())
            .add(file.source.string())
            .add(file.size)
            .add(static_cast<std::uint64_t>(file.modified_ns));
    for (const auto& [applet, program] : parts.tools.applets)
        hash.add(applet).add(program);
    hash.add(parts.modules.size());
    for (std::size_t i = 0; i < parts.modules.size(); ++i)
        hash.add(parts.modules[i].name)
            .add(parts.modules[i].relative_path)
            .add(parts.module_sources[i]);
    for (const auto& [name, bytes] : parts.indexes)
        hash.add(name).add(bytes);
    return hash.hex();
}

// What the archive for `inputs` depends on, by name, size and time only:
// enough to find the archive built before without gather(), whose ldd
// runs and reads took a tenth of a second of every guest's start.
std::string quick_key(const InitramfsInputs& inputs)
{
    ContentHash hash;
    hash.add(layout_version).add(inputs.kernel.release());
    auto stamp = [&hash](const fs::path& path) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0)
            st = {};
        hash.add(path.string())
            .add(static_cast<std::uint64_t>(st.st_ino))
            .add(static_cast<std::uint64_t>(st.st_size))
            .add(static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1'000'000'000ULL +
                 static_cast<std::uint64_t>(st.st_mtim.tv_nsec));
    };
    stamp(inputs.agent);
    stamp(inputs.busybox);
    hash.add(inputs.debian_tools ? 1U : 0U);
    if (inputs.debian_tools) {
        for (const auto& tool : detail::default_guest_tools())
            stamp(detail::find_program(tool));
        // Installing or upgrading a shared library runs ldconfig, which
        // rewrites this.
        stamp("/etc/ld.so.cache");
    }
    for (const auto& name : inputs.channel_modules)
        hash.add(name);
    auto modules_dir = inputs.kernel.modules_dir();
    for (auto index : module_indexes)
        stamp(modules_dir / index);
    stamp(modules_dir / "modules.dep.bin");
    stamp(modules_dir / "modules.alias.bin");
    return hash.hex();
}

// `busybox --list-full` names each applet where busybox --install would
// put it: "bin/sh", "sbin/modprobe", "usr/bin/xxd".
std::vector<std::string> applet_paths(const fs::path& busybox)
{
    std::vector<std::string> paths;
    std::istringstream lines{detail::output_of({busybox.string(), "--list-full"})};
    for (std::string line; std::getline(lines, line);)
        if (!line.empty() && line != "bin/busybox")
            paths.push_back(line);
    if (paths.empty())
        throw std::runtime_error(fmt::format(
            "{} --list-full names no applets; install busybox-static (apt-get install "
            "busybox-static)",
            busybox.string()));
    return paths;
}

// busybox's applet links, except where a Debian tool of the same name
// takes the applet's place: there the link points at the tool, whose
// program, libraries and loader go in at their host paths.
void add_applets(CpioWriter& cpio, const std::vector<std::string>& busybox_applets,
                 const detail::GuestTools& tools)
{
    std::map<std::string, std::string, std::less<>> tool_for(tools.applets.begin(),
                                                             tools.applets.end());
    std::set<std::string, std::less<>> tool_files;
    // Each file where the host keeps it, and a link where a program or the
    // loader looks for it ("/lib/x86_64-linux-gnu/libbpf.so.1" ->
    // "/usr/lib/x86_64-linux-gnu/libbpf.so.1.1.2"): some programs read a
    // library's version from its real name.
    for (const auto& file : tools.files) {
        auto path = file.guest_path.relative_path().string();
        auto real = file.source.relative_path().string();
        auto mode = static_cast<std::uint32_t>(fs::status(file.source).permissions()) & 0755;
        if (tool_files.insert(real).second)
            cpio.add_file(real, read_file(file.source), mode);
        if (real != path && tool_files.insert(path).second)
            cpio.add_symlink(path, file.source.string());
    }
    for (const auto& applet : busybox_applets) {
        if (tool_files.contains(applet))
            continue;
        auto name = fs::path{applet}.filename().string();
        auto tool = tool_for.find(name);
        cpio.add_symlink(applet, tool == tool_for.end() ? "/bin/busybox" : tool->second);
        if (tool != tool_for.end())
            tool_for.erase(tool);
    }
    // A tool busybox has no applet for goes where a Debian system has it.
    for (const auto& [name, program] : tool_for)
        if (!tool_files.contains("usr/sbin/" + name))
            cpio.add_symlink("usr/sbin/" + name, program);
}

std::string build_archive(const Ingredients& parts, const fs::path& busybox)
{
    auto guest_modules_dir = "lib/modules/" + parts.release;

    CpioWriter cpio;
    for (auto dir : base_directories)
        cpio.add_directory(dir);
    cpio.add_directory(guest_modules_dir + "/extra");
    // Debian 12 merged /usr: /lib/modprobe.d and /usr/lib/modprobe.d are one
    // folder, which kmod reads by its first name. Here /lib is a folder of
    // its own, so the second name is a link to the first.
    cpio.add_directory("lib/modprobe.d");
    cpio.add_directory("usr/lib");
    cpio.add_symlink("usr/lib/modprobe.d", "../../lib/modprobe.d");
    // The kernel opens /dev/console for init's stdio before anything can
    // mount devtmpfs.
    cpio.add_char_device("dev/console", 5, 1, 0600);

    cpio.add_file("bin/busybox", parts.busybox, 0755);
    add_applets(cpio, applet_paths(busybox), parts.tools);

    cpio.add_file("init", parts.agent, 0755);

    std::string load_order;
    for (const auto& module : parts.modules) {
        auto path = guest_modules_dir + "/" + module.relative_path;
        cpio.add_file(path, decompressed(module), 0644);
        load_order += "/" + path + "\n";
    }
    cpio.add_file(guest_channel_modules_list, load_order, 0644);

    for (const auto& [name, bytes] : parts.indexes)
        cpio.add_file(guest_modules_dir + "/" + std::string{name}, bytes, 0644);
    return cpio.finish();
}

// Older archives of this release, and temporary files their builders left
// behind when they died. An older archive may still be another build's
// (two kmsdk builds on one cache), whose guests boot it again after a
// crash: it goes only once it has not been written for a day.
void remove_stale(const fs::path& folder, const fs::path& current)
{
    std::error_code error;
    auto now = fs::file_time_type::clock::now();
    for (const auto& entry : fs::directory_iterator{folder, error}) {
        auto name = entry.path().filename().string();
        auto age = now - entry.last_write_time(error);
        if (error)
            continue;
        bool old_archive = name.starts_with("base-") && name.ends_with(".cpio") &&
                           entry.path() != current && age > std::chrono::hours(24);
        bool abandoned = name.starts_with(".base-") && age > abandoned_after;
        bool old_index = name.starts_with("index-") && age > std::chrono::hours(24);
        if (old_archive || abandoned || old_index)
            fs::remove(entry.path(), error);  // another process may have won
    }
}

}  // namespace

fs::path base_initramfs(const InitramfsInputs& inputs, const fs::path& cache)
{
    auto folder = cache / "initramfs" / inputs.kernel.release();
    // index-<quick key> names the archive its inputs made last time.
    auto index = folder / fmt::format("index-{}", quick_key(inputs));
    auto named = detail::read_if_present(index);
    if (auto end = named.find('\n'); end != std::string::npos && end > 0)
        if (auto path = folder / named.substr(0, end); fs::exists(path))
            return path;

    auto parts = gather(inputs);
    auto path = folder / fmt::format("base-{}.cpio", cache_key(parts));
    if (!fs::exists(path)) {
        write_file_once(path, build_archive(parts, inputs.busybox));
        remove_stale(folder, path);
    }
    write_file_atomically(index, path.filename().string() + "\n");
    return path;
}

}  // namespace kmsdk
