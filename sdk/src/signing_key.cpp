// SPDX-License-Identifier: GPL-2.0
// kmsdk's own module signing key: a self-signed X.509 certificate and its
// RSA key, of the kind a kernel build makes for itself when it is given
// none, made once per cache with the openssl command.
#include "kmsdk/signing.hpp"

#include "signing_tool.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <unistd.h>

namespace kmsdk {
namespace fs = std::filesystem;
namespace {

// The host's name, as far as it is safe inside the certificate's subject.
std::string host_name()
{
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0)
        return "unknown host";
    std::string safe;
    for (const char* c = name; *c; ++c)
        if (std::isalnum(static_cast<unsigned char>(*c)) || *c == '.' || *c == '-')
            safe += *c;
    return safe.empty() ? "unknown host" : safe;
}

// openssl req's configuration. RSA, because every Debian kernel here
// verifies RSA (CONFIG_MODULE_SIG_KEY_TYPE_RSA), at the kernel's own
// default size; the extensions are those the kernel's x509 parser and
// a MOK enrolment accept for a code-signing leaf certificate.
std::string request_config()
{
    return fmt::format("[ req ]\n"
                       "default_bits = 4096\n"
                       "distinguished_name = subject\n"
                       "prompt = no\n"
                       "string_mask = utf8only\n"
                       "x509_extensions = leaf\n"
                       "\n"
                       "[ subject ]\n"
                       "O = kmsdk\n"
                       "CN = kmsdk module signing key ({})\n"
                       "\n"
                       "[ leaf ]\n"
                       "basicConstraints = critical,CA:FALSE\n"
                       "keyUsage = digitalSignature\n"
                       "subjectKeyIdentifier = hash\n"
                       "authorityKeyIdentifier = keyid\n",
                       host_name());
}

// A folder being filled, removed unless it was renamed into place.
class PendingDir {
public:
    explicit PendingDir(const fs::path& final_path)
    {
        auto pattern =
            (final_path.parent_path() / ("." + final_path.filename().string() + ".new-XXXXXX"))
                .string();
        // mkdtemp makes it 0700: the private key is never readable by others.
        if (!::mkdtemp(pattern.data()))
            throw std::runtime_error(fmt::format(
                "cannot create a folder in {}: {}; make the kmsdk cache writable, or point "
                "KMSDK_CACHE at a folder of your own",
                final_path.parent_path().string(), std::strerror(errno)));
        path_ = pattern;
    }
    PendingDir(const PendingDir&) = delete;
    PendingDir& operator=(const PendingDir&) = delete;
    ~PendingDir()
    {
        if (path_.empty())
            return;
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }

    const fs::path& path() const { return path_; }

    // False when another process put its folder there first.
    bool commit(const fs::path& final_path)
    {
        if (::rename(path_.c_str(), final_path.c_str()) == 0) {
            path_.clear();
            return true;
        }
        if (errno == ENOTEMPTY || errno == EEXIST)
            return false;
        throw std::runtime_error(fmt::format("cannot rename {} to {}: {}; check the cache's "
                                             "permissions",
                                             path_.string(), final_path.string(),
                                             std::strerror(errno)));
    }

private:
    fs::path path_;
};

SigningKey pair_in(const fs::path& dir)
{
    SigningKey key{dir / "key.pem", dir / "cert.pem"};
    if (!fs::is_regular_file(key.key) || !fs::is_regular_file(key.cert))
        throw std::runtime_error(fmt::format(
            "{} lacks key.pem or cert.pem; remove the folder (rm -r {}) and kmsdk makes a new "
            "key pair",
            dir.string(), dir.string()));
    return key;
}

void generate_into(const fs::path& dir)
{
    auto config = dir / "x509.genkey";
    auto key = dir / "key.pem";
    auto cert = dir / "cert.pem";
    write_file_atomically(config, request_config());
    const char* next = "check that openssl works (apt-get install openssl)";
    detail::run_signing_tool({"openssl", "req", "-new", "-nodes", "-utf8", "-sha256", "-days",
                              "36500", "-batch", "-x509", "-config", config.string(), "-outform",
                              "PEM", "-out", cert.string(), "-keyout", key.string()},
                             "cannot make kmsdk's module signing key", next);
    fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
    // What mokutil --import takes.
    detail::run_signing_tool({"openssl", "x509", "-in", cert.string(), "-outform", "DER", "-out",
                              (dir / "cert.der").string()},
                             "cannot write kmsdk's signing certificate in DER", next);
}

}  // namespace

fs::path default_signing_dir(const fs::path& cache)
{
    return cache / "signing";
}

SigningKey default_signing_key(const fs::path& cache)
{
    auto dir = default_signing_dir(cache);
    if (fs::exists(dir))
        return pair_in(dir);

    std::error_code error;
    fs::create_directories(cache, error);
    if (error)
        throw std::runtime_error(fmt::format(
            "cannot create the kmsdk cache {}: {}; point KMSDK_CACHE at a writable folder",
            cache.string(), error.message()));
    PendingDir pending{dir};
    generate_into(pending.path());
    // A concurrent first use may have renamed its own pair in meanwhile:
    // every caller then signs with that one.
    bool made = pending.commit(dir);
    auto key = pair_in(dir);
    key.generated = made;
    return key;
}

}  // namespace kmsdk
