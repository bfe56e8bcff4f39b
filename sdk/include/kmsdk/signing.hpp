// SPDX-License-Identifier: GPL-2.0
//
// Module signing as the kernel's own build does it: the build/scripts/
// sign-file of the kernel a module was built for, the hash that kernel's
// config names (CONFIG_MODULE_SIG_HASH), and an X.509 key pair, the user's
// or one kmsdk makes once into its cache. A kernel verifies a signature
// only against keys it already trusts (built in, or enrolled as a MOK), so
// kmsdk's own key makes modinfo show a signer but does not make a kernel
// with module.sig_enforce=1 accept the module.
#pragma once

#include "kmsdk/cache.hpp"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmsdk {

class Kernel;

// A private key and its certificate, in the forms sign-file reads.
struct SigningKey {
    std::filesystem::path key;   // PEM private key
    std::filesystem::path cert;  // X.509 certificate, PEM or DER
    // default_signing_key() made the pair during this call.
    bool generated = false;
};

// kmsdk's own key pair, in <cache>/signing/: key.pem (mode 0600),
// cert.pem, and cert.der for `mokutil --import`. Made with openssl on first
// use, in a private folder renamed into place, so that concurrent first
// uses agree on one pair. Throws, saying what to do, when openssl fails or
// a folder there lacks one of the files.
SigningKey default_signing_key(const std::filesystem::path& cache = cache_dir());

// The folder default_signing_key() uses.
std::filesystem::path default_signing_dir(const std::filesystem::path& cache = cache_dir());

struct SigningOptions {
    // Default: default_signing_key().
    std::optional<SigningKey> key;
    // A cached kernel (release or series) whose sign-file and hash sign
    // every module; "" is the kernel each module's vermagic names.
    std::string kernel;
};

struct SignedModule {
    std::filesystem::path path;
    std::string release;  // the kernel whose sign-file signed it
    std::string hash;     // "sha256"
    std::filesystem::path cert;
    // It was signed before: that signature was removed, not kept under
    // the new one.
    bool replaced_signature = false;
};

// Signs each module in place with its kernel's sign-file. Every module,
// its kernel and the key are checked before the first is signed; each
// module is written to a temporary file beside it and renamed over it,
// so a failure leaves it as it was. `on_signed` is called after each.
// Throws with a message naming the file and what to do.
std::vector<SignedModule>
sign_modules(const std::vector<std::filesystem::path>& kos, const SigningOptions& options = {},
             const std::function<void(const SignedModule&)>& on_signed = {});

// The hash algorithm a kernel signs modules with (its config's
// CONFIG_MODULE_SIG_HASH). Throws when the kernel was built without
// CONFIG_MODULE_SIG.
std::string module_signature_hash(const Kernel& kernel);

// How many bytes at the end of a module's contents are an appended
// signature (the PKCS#7 blob, its descriptor and the marker), 0 when it
// has none. Throws when the marker is there but the descriptor does not
// fit the file.
std::size_t appended_signature_size(std::string_view module);

}  // namespace kmsdk
