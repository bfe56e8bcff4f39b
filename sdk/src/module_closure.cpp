// SPDX-License-Identifier: GPL-2.0
#include "kmsdk/module_closure.hpp"

#include "kmsdk/cache.hpp"
#include "kmsdk/modinfo.hpp"

#include <archive.h>
#include <fmt/format.h>
#include <libkmod.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace kmsdk {
namespace fs = std::filesystem;
namespace {

struct ModuleUnref {
    void operator()(kmod_module* module) const { kmod_module_unref(module); }
};
using ModulePtr = std::unique_ptr<kmod_module, ModuleUnref>;

struct ModuleListUnref {
    void operator()(kmod_list* list) const { kmod_module_unref_list(list); }
};
using ModuleList = std::unique_ptr<kmod_list, ModuleListUnref>;

struct ArchiveReadFree {
    void operator()(archive* reader) const { archive_read_free(reader); }
};

// Calls `visit` with each module of a libkmod module list.
template <typename Visit>
void for_each_module(const ModuleList& list, Visit visit)
{
    kmod_list* entry = nullptr;
    kmod_list_foreach(entry, list.get())
    {
        ModulePtr module{kmod_module_get_module(entry)};
        visit(module.get());
    }
}

// kmod spells module names with '_' whatever the file name says
// (crc32c-intel.ko is crc32c_intel).
std::string normalized(std::string_view name)
{
    std::string result{name};
    std::replace(result.begin(), result.end(), '-', '_');
    return result;
}

std::string without_compression_suffix(std::string path)
{
    for (std::string_view suffix : {".xz", ".zst", ".gz"})
        if (path.ends_with(suffix))
            return path.substr(0, path.size() - suffix.size());
    return path;
}

// The names a `softdep=` value lists: "pre: crc32c post: foo" gives both.
std::vector<std::string> softdep_names(const std::string& value)
{
    std::vector<std::string> names;
    std::istringstream words{value};
    for (std::string word; words >> word;)
        if (word != "pre:" && word != "post:")
            names.push_back(word);
    return names;
}

// One depth-first walk that collects modules in load order.
class ClosureWalk {
public:
    ClosureWalk(kmod_ctx* ctx, const fs::path& modules_dir, const std::string& release)
        : ctx_{ctx}, modules_dir_{modules_dir}, release_{release}
    {
    }

    // Every module a name or alias resolves to ("crypto-crc32c" is both
    // crc32c_generic and crc32c_intel, and modprobe would try both).
    ModuleList lookup(const std::string& name) const
    {
        kmod_list* list = nullptr;
        if (int err = kmod_module_new_from_lookup(ctx_, name.c_str(), &list); err < 0)
            throw std::runtime_error(fmt::format("libkmod cannot look up {} in {}: {}", name,
                                                 modules_dir_.string(), std::strerror(-err)));
        return ModuleList{list};
    }

    void add(const ModuleList& modules)
    {
        for_each_module(modules, [this](kmod_module* module) { visit(module); });
    }

    std::vector<KernelModuleFile> take() { return std::move(order_); }

private:
    void visit(kmod_module* module)
    {
        std::string name = kmod_module_get_name(module);
        // `visiting_` breaks cycles, which soft dependencies may form.
        if (done_.contains(name) || visiting_.contains(name))
            return;
        const char* path = kmod_module_get_path(module);
        if (!path) {
            if (kmod_module_get_initstate(module) == KMOD_MODULE_BUILTIN) {
                done_.insert(name);
                return;
            }
            throw std::runtime_error(fmt::format(
                "module {} of kernel {} has no file in {}/modules.dep; the cached kernel is "
                "broken: remove it and fetch it again with `kmsdk kernels fetch {}`",
                name, release_, modules_dir_.string(), release_));
        }
        visiting_.insert(name);

        ModuleList dependencies{kmod_module_get_dependencies(module)};
        add(dependencies);

        kmod_list* pre = nullptr;
        kmod_list* post = nullptr;
        kmod_module_get_softdeps(module, &pre, &post);
        ModuleList load_before{pre};
        ModuleList load_after{post};
        add(load_before);

        order_.push_back(file_of(name, path));
        visiting_.erase(name);
        done_.insert(name);

        add(load_after);
    }

    KernelModuleFile file_of(const std::string& name, const fs::path& path) const
    {
        auto relative = path.lexically_relative(modules_dir_);
        if (relative.empty() || *relative.begin() == "..")
            throw std::runtime_error(fmt::format(
                "libkmod placed module {} at {}, outside {}; the cached kernel's modules.dep is "
                "broken: remove the kernel and fetch it again",
                name, path.string(), modules_dir_.string()));
        return {name, path, without_compression_suffix(relative.string())};
    }

    kmod_ctx* ctx_;
    const fs::path& modules_dir_;
    const std::string& release_;
    std::set<std::string> done_;
    std::set<std::string> visiting_;
    std::vector<KernelModuleFile> order_;
};

}  // namespace

void ModuleClosure::ContextFree::operator()(kmod_ctx* ctx) const
{
    kmod_unref(ctx);
}

ModuleClosure::ModuleClosure(const Kernel& kernel)
    : release_{kernel.release()}, modules_dir_{fs::absolute(kernel.modules_dir())}
{
    // No configuration: the host's /etc/modprobe.d says nothing about the
    // guest. Soft dependencies still come from the tree's modules.softdep.
    const char* const no_config[] = {nullptr};
    ctx_.reset(kmod_new(modules_dir_.c_str(), no_config));
    if (!ctx_)
        throw std::runtime_error(fmt::format(
            "libkmod cannot open the modules of kernel {} in {}; check that the folder exists",
            release_, modules_dir_.string()));
    kmod_set_log_priority(ctx_.get(), 0);
}

ModuleClosure::ModuleClosure(ModuleClosure&&) noexcept = default;
ModuleClosure& ModuleClosure::operator=(ModuleClosure&&) noexcept = default;
ModuleClosure::~ModuleClosure() = default;

std::vector<KernelModuleFile> ModuleClosure::resolve(const std::vector<std::string>& names) const
{
    ClosureWalk walk{ctx_.get(), modules_dir_, release_};
    for (const auto& name : names) {
        auto modules = walk.lookup(name);
        if (!modules)
            throw std::runtime_error(fmt::format(
                "no module {} in kernel {} (is it built in? check modules.builtin; otherwise "
                "check its spelling against modules.dep and modules.alias in {})",
                name, release_, modules_dir_.string()));
        walk.add(modules);
    }
    return walk.take();
}

std::vector<KernelModuleFile> ModuleClosure::for_modules(const std::vector<fs::path>& kos,
                                                         const std::set<std::string>& provided) const
{
    std::vector<ModuleInfo> infos;
    std::set<std::string> provided_names;
    for (const auto& name : provided)
        provided_names.insert(normalized(name));
    for (const auto& ko : kos) {
        infos.push_back(ModuleInfo::read(ko));
        provided_names.insert(normalized(infos.back().name()));
    }

    ClosureWalk walk{ctx_.get(), modules_dir_, release_};
    for (const auto& info : infos) {
        for (const auto& name : info.depends()) {
            if (provided_names.contains(normalized(name)))
                continue;
            auto modules = walk.lookup(name);
            if (!modules)
                throw std::runtime_error(fmt::format(
                    "{} depends on {}, which is not a module of kernel {} nor one of the modules "
                    "given; add the .ko that provides {}",
                    info.path().string(), name, release_, name));
            walk.add(modules);
        }
        // A soft dependency that resolves to nothing is skipped, as
        // modprobe skips it.
        for (const auto& value : info.fields("softdep"))
            for (const auto& name : softdep_names(value))
                if (!provided_names.contains(normalized(name)))
                    walk.add(walk.lookup(name));
    }
    return walk.take();
}

std::vector<KernelModuleFile> ModuleClosure::for_module(const fs::path& ko,
                                                        const std::set<std::string>& provided) const
{
    return for_modules({ko}, provided);
}

std::string decompressed(const KernelModuleFile& module)
{
    std::string bytes;
    if (module.source.extension() == ".ko") {
        bytes = read_file(module.source);
    } else {
        // The raw format with every filter: libarchive undoes xz, zstd or
        // gzip and hands back the single stream inside.
        std::unique_ptr<archive, ArchiveReadFree> reader{archive_read_new()};
        if (!reader)
            throw std::runtime_error("libarchive could not allocate a reader (out of memory?)");
        archive_read_support_filter_all(reader.get());
        archive_read_support_format_raw(reader.get());
        archive_entry* entry = nullptr;
        if (archive_read_open_filename(reader.get(), module.source.c_str(), 1 << 16) != ARCHIVE_OK ||
            archive_read_next_header(reader.get(), &entry) != ARCHIVE_OK)
            throw std::runtime_error(fmt::format("cannot decompress kernel module {}: {}",
                                                 module.source.string(),
                                                 archive_error_string(reader.get())));
        char buffer[1 << 16];
        for (;;) {
            la_ssize_t got = archive_read_data(reader.get(), buffer, sizeof buffer);
            if (got < 0)
                throw std::runtime_error(fmt::format(
                    "cannot decompress kernel module {}: {}; the cached kernel may be damaged: "
                    "remove it and fetch it again",
                    module.source.string(), archive_error_string(reader.get())));
            if (got == 0)
                break;
            bytes.append(buffer, static_cast<std::size_t>(got));
        }
    }
    if (!bytes.starts_with("\x7f" "ELF"))
        throw std::runtime_error(fmt::format(
            "{} is not an ELF kernel module once decompressed; the cached kernel may be damaged: "
            "remove it and fetch it again",
            module.source.string()));
    return bytes;
}

}  // namespace kmsdk
