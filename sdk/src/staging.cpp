// SPDX-License-Identifier: GPL-2.0
#include "staging.hpp"

#include "kmsdk/cache.hpp"
#include "kmsdk/modinfo.hpp"
#include "kmsdk/module_closure.hpp"
#include "xxh3_hash.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <set>
#include <stdexcept>

namespace kmsdk::detail {

std::string StagingPlan::hash() const
{
    Xxh3Hash hash;
    auto add = [&](std::string_view bytes) {
        // Length first, so that no two plans run together into one stream.
        auto length = static_cast<std::uint64_t>(bytes.size());
        hash.add(&length, sizeof length).add(bytes.data(), bytes.size());
    };
    for (const auto& file : files) {
        add(file.path);
        add(std::to_string(file.mode));
        add(file.contents);
    }
    return hash.hex();
}

std::filesystem::path guest_program(std::string_view name, const char* env_override)
{
    if (const char* chosen = std::getenv(env_override); chosen && *chosen)
        return chosen;
    // The library is the same whether used from its build tree or
    // installed: look where each would have put the program.
    auto built = std::filesystem::path{KMSDK_BUILD_PROGRAM_DIR} / name;
    auto installed = std::filesystem::path{KMSDK_INSTALLED_PROGRAM_DIR} / name;
    for (const auto& candidate : {built, installed})
        if (std::filesystem::exists(candidate))
            return candidate;
    throw std::runtime_error(fmt::format(
        "{} is missing (looked for {} and {}): build it with "
        "'cmake --build build --target {}', install kmsdk, or set {} to its path",
        name, built.string(), installed.string(), name, env_override));
}

std::filesystem::path agent_binary()
{
    return guest_program("kmsdk-agent", "KMSDK_AGENT");
}

StagingPlan plan_staging(const GuestOptions& options, const Kernel& kernel)
{
    StagingPlan plan;
    auto modules_root = "/lib/modules/" + kernel.release() + "/";

    std::set<std::string> provided;
    std::vector<StagingPlan::File> extra;
    for (const auto& ko : options.modules_) {
        // Checked here, on the host, so a corrupt file fails before a boot.
        auto name = ModuleInfo::read(ko).name();
        provided.insert(name);
        // The file keeps its own name, as a copy would: kms-hello-1.ko holds
        // the module kms_hello_1, and insmod takes the file's name.
        auto file = ko.filename().string();
        if (!file.ends_with(".ko"))
            file = name + ".ko";
        extra.push_back({modules_root + "extra/" + file, read_file(ko), 0644});
    }

    ModuleClosure closure{kernel};
    auto kernel_modules = closure.for_modules(options.modules_, provided);
    auto asked = closure.resolve(options.kernel_modules_);
    kernel_modules.insert(kernel_modules.end(), asked.begin(), asked.end());
    std::set<std::string> seen;
    for (const auto& module : kernel_modules)
        if (seen.insert(module.relative_path).second)
            plan.files.push_back({modules_root + module.relative_path, decompressed(module), 0644});

    plan.files.insert(plan.files.end(), extra.begin(), extra.end());
    for (const auto& program : options.programs_) {
        if (!std::filesystem::is_regular_file(program.host_path))
            throw std::runtime_error(fmt::format(
                "the program {} to copy into the guest does not exist; build it, or fix the path",
                program.host_path.string()));
        plan.files.push_back({program.guest_path, read_file(program.host_path), 0755});
    }
    // The caller's own files last, so that one of them may replace ours.
    for (const auto& file : options.files_)
        plan.files.push_back({file.path, file.contents, file.mode});
    if (!options.modules_load_.empty()) {
        std::string list = "# Written by kmsdk: loaded by the guest's boot pass\n";
        for (const auto& name : options.modules_load_)
            list += name + "\n";
        plan.files.push_back({"/etc/modules-load.d/kmsdk.conf", list, 0644});
    }
    return plan;
}

}  // namespace kmsdk::detail
