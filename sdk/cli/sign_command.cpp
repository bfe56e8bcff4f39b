// SPDX-License-Identifier: GPL-2.0
// `kmsdk sign FILE.ko...`: signs modules in place with their kernel's own
// sign-file (kmsdk/signing.hpp), with the user's key or kmsdk's.
#include "commands.hpp"

#include "kmsdk/signing.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <memory>

namespace kmsdk::cli {
namespace {

struct SignArgs {
    std::vector<std::string> modules;
    std::string key;
    std::string cert;
    std::string kernel;
    bool quiet = false;
};

// For --help, which must work even where the cache cannot be found.
std::string signing_dir_for_help()
{
    try {
        return default_signing_dir().string();
    } catch (const std::exception&) {
        return "$KMSDK_CACHE/signing";
    }
}

int sign(const SignArgs& args)
{
    SigningOptions options;
    options.kernel = args.kernel;
    if (!args.key.empty())
        options.key = SigningKey{args.key, args.cert};
    // Only for the notice: a concurrent first use may make the pair instead.
    bool key_missing = !options.key && !std::filesystem::exists(default_signing_dir());

    std::vector<std::filesystem::path> kos{args.modules.begin(), args.modules.end()};
    sign_modules(kos, options, [&](const SignedModule& module) {
        if (key_missing) {
            key_missing = false;
            fmt::print(stderr, "kmsdk: made a module signing key in {}; no kernel trusts it "
                               "(see 'kmsdk sign --help')\n",
                       default_signing_dir().string());
        }
        if (!args.quiet)
            fmt::print("signed {} ({}, {}, key {}){}\n", module.path.string(), module.release,
                       module.hash, module.cert.string(),
                       module.replaced_signature ? ", replacing its signature" : "");
    });
    return exit_ok;
}

}  // namespace

Subcommand add_sign_command(CLI::App& app)
{
    auto args = std::make_shared<SignArgs>();
    auto* command = app.add_subcommand(
        "sign", "Sign kernel modules in place with the sign-file and hash of the kernel each "
                "was built for (its vermagic)");
    command->add_option("modules", args->modules, "The .ko files to sign")
        ->required()
        ->type_name("FILE.ko");
    auto* key = command->add_option("--key", args->key, "A PEM private key to sign with")
                    ->type_name("FILE");
    auto* cert = command->add_option("--cert", args->cert,
                                     "The key's X.509 certificate, PEM or DER")
                     ->type_name("FILE");
    key->needs(cert);
    cert->needs(key);
    command->add_option("--kernel", args->kernel,
                        "Sign with this cached kernel's sign-file and hash instead of the one "
                        "each module's vermagic names (a series, series-flavour or release)")
        ->type_name("SPEC");
    command->add_flag("-q,--quiet", args->quiet, "Print nothing for each module signed");
    command->footer(fmt::format(
        "Without --key and --cert, kmsdk signs with a key pair of its own, made with openssl "
        "on first use in {} (key.pem, cert.pem, cert.der). A module already signed is signed "
        "again: its old signature is replaced, not kept under the new one. A kernel accepts a "
        "signature only from a key it trusts: one built into it (CONFIG_SYSTEM_TRUSTED_KEYS, "
        "so a kernel build of your own) or, with Secure Boot's shim, a Machine Owner Key "
        "(mokutil --import cert.der, then a reboot to enrol it). Debian's kernels trust "
        "neither kmsdk's key nor yours: they load the module tainted E (unsigned), and refuse "
        "it under module.sig_enforce=1 (\"Key was rejected by service\").",
        signing_dir_for_help()));
    return {command, [args](const std::vector<std::string>&) { return sign(*args); }};
}

}  // namespace kmsdk::cli
