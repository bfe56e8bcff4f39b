// SPDX-License-Identifier: GPL-2.0
// Signing modules with the kernel's own sign-file, run with the kernel's
// toolchain (kmsdk-toolchain.sh: on the host, or in the build root of a
// kernel of another Debian release, as its Kbuild runs).
#include "kmsdk/signing.hpp"

#include "kmsdk/kernel.hpp"
#include "kmsdk/modinfo.hpp"

#include "signing_tool.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kmsdk {
namespace fs = std::filesystem;
namespace {

// What sign-file appends after the PKCS#7 blob: a descriptor (the kernel's
// struct module_signature) and this marker.
constexpr std::string_view signature_marker = "~Module signature appended~\n";
constexpr std::size_t descriptor_size = 12;

fs::path toolchain_script()
{
    // The library is the same in its build tree and installed: look beside
    // the running program's install prefix (a relocated install), in the
    // source tree, then in the prefix kmsdk was configured for.
    std::vector<fs::path> candidates;
    std::error_code error;
    if (auto exe = fs::read_symlink("/proc/self/exe", error); !error)
        candidates.push_back(exe.parent_path().parent_path() / KMSDK_INSTALLED_TOOLCHAIN_SCRIPT);
    candidates.emplace_back(KMSDK_SOURCE_TOOLCHAIN_SCRIPT);
    candidates.emplace_back(fs::path{KMSDK_INSTALL_PREFIX} / KMSDK_INSTALLED_TOOLCHAIN_SCRIPT);
    std::vector<std::string> looked;
    for (const auto& candidate : candidates) {
        if (fs::is_regular_file(candidate))
            return candidate;
        looked.push_back(candidate.string());
    }
    throw std::runtime_error(fmt::format("kmsdk-toolchain.sh, which runs sign-file with the "
                                         "kernel's toolchain, is missing (looked for {}); "
                                         "reinstall kmsdk",
                                         fmt::join(looked, ", ")));
}

void require_readable(const fs::path& path, std::string_view what, std::string_view flag)
{
    if (::access(path.c_str(), R_OK) == 0 && fs::is_regular_file(path))
        return;
    throw std::runtime_error(fmt::format("the {} {} {}; give an existing file ({})", what,
                                         path.string(),
                                         fs::exists(path) ? "cannot be read" : "does not exist",
                                         flag));
}

// A file beside `target` that sign-file writes, removed unless renamed
// over the target: same folder, so the rename is atomic.
class SiblingFile {
public:
    SiblingFile(const fs::path& target, std::string_view purpose)
    {
        auto pattern = (target.parent_path() /
                        fmt::format(".{}.{}-XXXXXX", target.filename().string(), purpose))
                           .string();
        int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
        if (fd < 0)
            throw std::runtime_error(fmt::format("cannot create a file beside {}: {}; sign a "
                                                 "copy in a folder you can write",
                                                 target.string(), std::strerror(errno)));
        ::close(fd);
        path_ = pattern;
    }
    SiblingFile(const SiblingFile&) = delete;
    SiblingFile& operator=(const SiblingFile&) = delete;
    ~SiblingFile()
    {
        if (!path_.empty())
            ::unlink(path_.c_str());
    }

    const fs::path& path() const { return path_; }

    void replace(const fs::path& target, mode_t mode)
    {
        if (::chmod(path_.c_str(), mode) != 0 || ::rename(path_.c_str(), target.c_str()) != 0)
            throw std::runtime_error(fmt::format("cannot replace {}: {}; check its folder's "
                                                 "permissions",
                                                 target.string(), std::strerror(errno)));
        path_.clear();
    }

private:
    fs::path path_;
};

// One module, checked and ready to sign.
struct Plan {
    fs::path ko;
    Kernel kernel;
    std::string hash;
    fs::path sign_file;
};

Kernel kernel_for(const fs::path& ko, const std::string& release, const std::string& chosen)
{
    if (!chosen.empty())
        return Kernel::find(chosen);
    try {
        return Kernel::find(release);
    } catch (const std::exception&) {
        throw std::runtime_error(fmt::format(
            "{} was built for {}, which is not in the kmsdk cache: fetch it (kmsdk kernels "
            "fetch {}), or name a cached kernel whose sign-file to use (--kernel 6.12)",
            ko.string(), release, release));
    }
}

Plan plan_for(const fs::path& ko, const SigningOptions& options)
{
    if (!fs::exists(ko))
        throw std::runtime_error(fmt::format("{} does not exist; check the path", ko.string()));
    // sign-file signs any file it is given; only a module is worth it.
    auto info = ModuleInfo::read(ko);
    auto kernel = kernel_for(ko, info.release(), options.kernel);
    auto hash = module_signature_hash(kernel);
    auto sign_file = kernel.build_dir() / "scripts/sign-file";
    if (::access(sign_file.c_str(), X_OK) != 0)
        throw std::runtime_error(fmt::format(
            "{0} has no scripts/sign-file, which signs modules; fetch the kernel again "
            "(kmsdk kernels remove {0}; kmsdk kernels fetch {0})",
            kernel.release()));
    return {ko, std::move(kernel), std::move(hash), std::move(sign_file)};
}

SignedModule sign(const Plan& plan, const SigningKey& key)
{
    struct stat info {};
    if (::stat(plan.ko.c_str(), &info) != 0)
        throw std::runtime_error(fmt::format("cannot read {}: {}", plan.ko.string(),
                                             std::strerror(errno)));
    // sign-file appends a second signature to a signed module; the kernel
    // checks only the outer one, and modinfo shows only that. The old one
    // is removed first, so a module carries one signature, the new one.
    auto contents = read_file(plan.ko);
    auto old_signature = appended_signature_size(contents);
    std::optional<SiblingFile> unsigned_copy;
    fs::path input = plan.ko;
    if (old_signature > 0) {
        unsigned_copy.emplace(plan.ko, "unsigned");
        auto unsigned_size = contents.size() - old_signature;
        write_file_atomically(fs::absolute(unsigned_copy->path()),
                              std::string_view{contents}.substr(0, unsigned_size));
        input = unsigned_copy->path();
    }

    SiblingFile output{plan.ko, "signed"};
    detail::run_signing_tool(
        {"bash", toolchain_script().string(), plan.kernel.build_dir().string(),
         plan.sign_file.string(), plan.hash, fs::absolute(key.key).string(),
         fs::absolute(key.cert).string(), fs::absolute(input).string(),
         fs::absolute(output.path()).string()},
        fmt::format("cannot sign {}", plan.ko.string()),
        "check that the key is a PEM private key and the certificate (PEM or DER) is its own");
    output.replace(plan.ko, info.st_mode & 07777);
    return {plan.ko, plan.kernel.release(), plan.hash, key.cert, old_signature > 0};
}

}  // namespace

std::size_t appended_signature_size(std::string_view module)
{
    if (!module.ends_with(signature_marker))
        return 0;
    auto trailer = signature_marker.size() + descriptor_size;
    if (module.size() < trailer)
        throw std::runtime_error("the module ends with a signature marker but is too short to "
                                 "hold a signature; rebuild it");
    auto descriptor = module.substr(module.size() - trailer, descriptor_size);
    auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(descriptor[i]); };
    // signer_len and key_id_len (bytes 3 and 4), then the blob's length,
    // big-endian (bytes 8 to 11).
    std::size_t blob = byte(3) + byte(4) +
                       ((std::size_t{byte(8)} << 24) | (std::size_t{byte(9)} << 16) |
                        (std::size_t{byte(10)} << 8) | byte(11));
    if (blob == 0 || module.size() < trailer + blob)
        throw std::runtime_error(fmt::format(
            "the module's signature descriptor claims {} bytes of signature, and the module "
            "has {} before it; the file is damaged: rebuild it",
            blob, module.size() - trailer));
    return trailer + blob;
}

std::string module_signature_hash(const Kernel& kernel)
{
    if (!kernel.config_enabled("MODULE_SIG"))
        throw std::runtime_error(fmt::format(
            "{} was built without module signing (CONFIG_MODULE_SIG): it loads modules without "
            "looking for a signature, so there is nothing to sign for",
            kernel.release()));
    auto hash = kernel.config_value("MODULE_SIG_HASH");
    if (hash.empty())
        throw std::runtime_error(fmt::format(
            "{}'s config names no CONFIG_MODULE_SIG_HASH; fetch the kernel again",
            kernel.release()));
    return hash;
}

std::vector<SignedModule> sign_modules(const std::vector<fs::path>& kos,
                                       const SigningOptions& options,
                                       const std::function<void(const SignedModule&)>& on_signed)
{
    if (kos.empty())
        throw std::invalid_argument("sign_modules needs at least one module");
    std::vector<Plan> plans;
    plans.reserve(kos.size());
    for (const auto& ko : kos)
        plans.push_back(plan_for(ko, options));

    SigningKey key;
    if (options.key) {
        key = *options.key;
        require_readable(key.key, "signing key", "a PEM private key: kmsdk sign --key");
        require_readable(key.cert, "signing certificate",
                         "an X.509 certificate, PEM or DER: kmsdk sign --cert");
    } else {
        key = default_signing_key();
    }

    std::vector<SignedModule> signed_modules;
    for (const auto& plan : plans) {
        signed_modules.push_back(sign(plan, key));
        if (on_signed)
            on_signed(signed_modules.back());
    }
    return signed_modules;
}

}  // namespace kmsdk
