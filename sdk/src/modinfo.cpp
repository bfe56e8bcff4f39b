// SPDX-License-Identifier: GPL-2.0
#include "kmsdk/modinfo.hpp"

#include "text.hpp"

#include "kmsdk/kernel.hpp"

#include <fmt/format.h>
#include <libkmod.h>

#include <cstring>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace kmsdk {
namespace {

struct KmodCtxFree {
    void operator()(kmod_ctx* ctx) const { kmod_unref(ctx); }
};
struct KmodModuleFree {
    void operator()(kmod_module* mod) const { kmod_module_unref(mod); }
};
struct KmodInfoListFree {
    void operator()(kmod_list* list) const { kmod_module_info_free_list(list); }
};

// "name:text" as .modinfo stores parm and parmtype values.
std::pair<std::string, std::string> split_named(const std::string& value)
{
    auto colon = value.find(':');
    if (colon == std::string::npos)
        return {value, ""};
    return {value.substr(0, colon), value.substr(colon + 1)};
}

}  // namespace

ModuleInfo ModuleInfo::read(const std::filesystem::path& ko)
{
    // A context with no module directory: only the file itself is read.
    std::unique_ptr<kmod_ctx, KmodCtxFree> ctx{kmod_new("/nonexistent", nullptr)};
    if (!ctx)
        throw std::runtime_error("libkmod could not create a context (out of memory?)");
    kmod_set_log_priority(ctx.get(), 0);

    kmod_module* raw_mod = nullptr;
    if (int err = kmod_module_new_from_path(ctx.get(), ko.c_str(), &raw_mod); err < 0)
        throw std::runtime_error(fmt::format("cannot read kernel module {}: {}; check the path",
                                             ko.string(), std::strerror(-err)));
    std::unique_ptr<kmod_module, KmodModuleFree> mod{raw_mod};

    kmod_list* raw_list = nullptr;
    int count = kmod_module_get_info(mod.get(), &raw_list);
    if (count < 0)
        throw std::runtime_error(fmt::format(
            "{} is not a valid kernel module ({}): rebuild it, or check that it is a .ko file",
            ko.string(), std::strerror(-count)));
    std::unique_ptr<kmod_list, KmodInfoListFree> list{raw_list};

    ModuleInfo info;
    info.path_ = ko;
    for (kmod_list* entry = list.get(); entry; entry = kmod_list_next(list.get(), entry)) {
        const char* value = kmod_module_info_get_value(entry);
        info.entries_.emplace_back(kmod_module_info_get_key(entry), value ? value : "");
    }
    if (info.field("vermagic").empty())
        throw std::runtime_error(fmt::format(
            "{} has no vermagic: it is not a kernel module built by Kbuild", ko.string()));
    return info;
}

std::string ModuleInfo::field(std::string_view key) const
{
    for (const auto& [k, v] : entries_)
        if (k == key)
            return v;
    return {};
}

std::vector<std::string> ModuleInfo::fields(std::string_view key) const
{
    std::vector<std::string> values;
    for (const auto& [k, v] : entries_)
        if (k == key)
            values.push_back(v);
    return values;
}

std::string ModuleInfo::release() const
{
    auto magic = vermagic();
    return magic.substr(0, magic.find(' '));
}

std::vector<std::string> ModuleInfo::depends() const
{
    return detail::split(field("depends"), ',');
}

std::vector<ModuleParameter> ModuleInfo::parameters() const
{
    // A parameter has a parmtype entry; its parm (description) is optional.
    std::vector<ModuleParameter> params;
    for (const auto& value : fields("parmtype")) {
        auto [name, type] = split_named(value);
        params.push_back({name, type, ""});
    }
    for (const auto& value : fields("parm")) {
        auto [name, description] = split_named(value);
        for (auto& param : params)
            if (param.name == name)
                param.description = description;
    }
    return params;
}

void require_built_for(const std::filesystem::path& ko, const Kernel& kernel)
{
    auto built_for = ModuleInfo::read(ko).release();
    if (built_for == kernel.release())
        return;
    std::string boot_its_own;
    try {
        // Its spec when that names exactly this release, else the release.
        auto spec = kernel_spec(built_for);
        auto own = Kernel::find(built_for);
        boot_its_own = fmt::format(
            "Pass --kernel {} to boot its kernel",
            Kernel::find(spec).release() == own.release() ? spec : built_for);
    } catch (const std::runtime_error&) {
        boot_its_own = fmt::format("Fetch its kernel with `kmsdk kernels fetch {}` and pass "
                                   "--kernel {}",
                                   built_for, built_for);
    }
    throw std::runtime_error(fmt::format(
        "{} was built for {}, and this guest boots {}: the kernel would refuse it. {}, or "
        "rebuild the module for {}",
        ko.filename().string(), built_for.empty() ? "no kernel (it has no vermagic)" : built_for,
        kernel.release(), boot_its_own, kernel.release()));
}

}  // namespace kmsdk
