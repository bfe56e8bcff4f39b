// SPDX-License-Identifier: GPL-2.0
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kmsdk {

// One module parameter as `modinfo -p` shows it.
struct ModuleParameter {
    std::string name;
    std::string type;  // "int", "charp", "array of int", ...
    std::string description;
};

// What the kernel reads from a .ko's .modinfo section, read with libkmod
// exactly as kmod's modinfo does.
class ModuleInfo {
public:
    // Throws std::runtime_error naming the file when it is not a module.
    static ModuleInfo read(const std::filesystem::path& ko);

    const std::filesystem::path& path() const { return path_; }
    // The first value of a key, or "" when the module has none.
    std::string field(std::string_view key) const;
    // Every value of a key, in file order (alias, parm, ... repeat).
    std::vector<std::string> fields(std::string_view key) const;

    std::string name() const { return field("name"); }
    std::string license() const { return field("license"); }
    std::string description() const { return field("description"); }
    std::string vermagic() const { return field("vermagic"); }
    // The kernel release the module was built for: vermagic's first word.
    std::string release() const;
    // Modules it needs loaded first (`depends:` split at commas).
    std::vector<std::string> depends() const;
    std::vector<ModuleParameter> parameters() const;

private:
    std::filesystem::path path_;
    std::vector<std::pair<std::string, std::string>> entries_;
};

class Kernel;

// Throws std::runtime_error when the module at `ko` was built for another
// release than `kernel`, naming both and what to do: the --kernel that
// boots the module's own release (or how to fetch it), or a rebuild. A
// file that is not a module throws as ModuleInfo::read does.
void require_built_for(const std::filesystem::path& ko, const Kernel& kernel);

}  // namespace kmsdk
