// SPDX-License-Identifier: GPL-2.0
//
// Module signing, as a user meets it: `kmsdk sign` signs copies of
// kms_hello with the kernel's own sign-file, with kmsdk's key and with a
// key of the test's own (its certificate in DER); the guest's modinfo
// shows the signer, key and hash; the kernel loads an unsigned or
// untrusted module and taints itself E; booted with module.sig_enforce=1
// it refuses both with EKEYREJECTED. No kernel here trusts either key, so
// no case can show an accepted signature under enforcement: that needs a
// key built into the kernel or enrolled as a MOK.
#include "guest_suite.hpp"
#include "host_command.hpp"
#include "kmsdk_cli.hpp"
#include "temp_dir.hpp"

#include "kmsdk/cache.hpp"
#include "kmsdk/signing.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

using namespace kmsdk;
using namespace kmsdk::test;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

// The kernel's taint bit for a module loaded without a valid signature
// (TAINT_UNSIGNED_MODULE, shown as E).
constexpr unsigned long taint_unsigned = 1ul << 13;

// What every kernel here prints, once per boot, for the first module it
// loads without a signature it can check.
constexpr const char* unverified_notice =
    "module verification failed: signature and/or required key missing - tainting kernel";

// A key pair of the test's own, as a user would bring: its certificate in
// DER, the other form sign-file takes.
struct OwnKey {
    fs::path key;
    fs::path cert;
};

// Copies of kms_hello, signed by the kmsdk command, in a folder that lives
// as long as the suite: `unsigned`, `kmsdk_key` (kmsdk's own key), and
// `own_key` (OwnKey). They keep distinct file names, so the guest stages
// them side by side.
struct Copies {
    detail::TempDir dir{"kmsdk-signing-test"};
    fs::path unsigned_ko;
    fs::path kmsdk_key_ko;
    fs::path own_key_ko;
    OwnKey own;
    std::string sign_output;  // kmsdk sign's stdout for kmsdk_key_ko
};

fs::path copy_of_hello(const fs::path& dir, std::string_view name)
{
    auto copy = dir / name;
    fs::copy_file(built_module("kms_hello"), copy);
    return copy;
}

const Copies& copies()
{
    static const Copies made = [] {
        Copies c;
        c.unsigned_ko = copy_of_hello(c.dir.path(), "kms_hello.ko");
        c.kmsdk_key_ko = copy_of_hello(c.dir.path(), "kms_hello-kmsdk-key.ko");
        c.own_key_ko = copy_of_hello(c.dir.path(), "kms_hello-own-key.ko");

        c.own = {c.dir.path() / "own-key.pem", c.dir.path() / "own-cert.der"};
        // genpkey, then req: req making the key itself prints progress.
        detail::output_of({"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                           "rsa_keygen_bits:2048", "-out", c.own.key.string()});
        detail::output_of({"openssl", "req", "-new", "-x509", "-key", c.own.key.string(),
                           "-batch", "-days", "2", "-subj", "/CN=kmsdk signing test key",
                           "-outform", "DER", "-out", c.own.cert.string()});

        auto kmsdk_key = run_kmsdk({"sign", c.kmsdk_key_ko.string()});
        INFO(describe(kmsdk_key));
        REQUIRE(kmsdk_key.status == 0);
        c.sign_output = kmsdk_key.out;
        auto own_key = run_kmsdk({"sign", "--key", c.own.key.string(), "--cert",
                                  c.own.cert.string(), c.own_key_ko.string()});
        INFO(describe(own_key));
        REQUIRE(own_key.status == 0);
        return c;
    }();
    return made;
}

GuestOptions with_copies()
{
    const auto& c = copies();
    return GuestOptions{}
        .kernel(test_kernel().release())
        .module(c.unsigned_ko)
        .module(c.kmsdk_key_ko)
        .module(c.own_key_ko);
}

Guest& guest()
{
    return suite_guest(with_copies);
}

// "serial=4DD48C..." from openssl, as modinfo prints a key id: "4D:D4:8C:...".
std::string serial_of(const fs::path& cert, std::string_view form)
{
    auto line = trimmed(detail::output_of(
        {"openssl", "x509", "-inform", std::string{form}, "-in", cert.string(), "-noout",
         "-serial"}));
    REQUIRE_THAT(line, StartsWith("serial="));
    auto hex = line.substr(7);
    std::string colons;
    for (std::size_t i = 0; i < hex.size(); i += 2)
        colons += (i ? ":" : "") + hex.substr(i, 2);
    return colons;
}

// The certificate subject's common name, which modinfo shows as signer.
std::string common_name_of(const fs::path& cert, std::string_view form)
{
    auto line = trimmed(detail::output_of({"openssl", "x509", "-inform", std::string{form},
                                           "-in", cert.string(), "-noout", "-subject",
                                           "-nameopt", "sep_multiline,utf8"}));
    for (const auto& field : lines_with(line, "CN="))
        return trimmed(field).substr(3);
    FAIL("no CN in the subject of " << cert << ": " << line);
    return {};
}

unsigned long tainted(Guest& g)
{
    return std::stoul(trimmed(g.read("/proc/sys/kernel/tainted")));
}

std::vector<std::string> files_in(const fs::path& dir)
{
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator{dir})
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// A copy of kms_hello whose vermagic names a release no cache holds: the
// first digit of the real one raised to 9, so the file keeps its size.
fs::path hello_for_uncached_kernel(const fs::path& dir, std::string* release)
{
    auto bytes = read_file(built_module("kms_hello"));
    auto key = "vermagic=" + test_kernel().release();
    auto at = bytes.find(key);
    REQUIRE(at != std::string::npos);
    *release = "9" + test_kernel().release().substr(1);
    bytes.replace(at, key.size(), "vermagic=" + *release);
    auto path = dir / "kms_hello-uncached.ko";
    write_file_atomically(path, bytes);
    return path;
}

}  // namespace

TEST_CASE("every kernel here was built to check module signatures, with sha256",
          "[signing]")
{
    const auto& kernel = test_kernel();
    CHECK(kernel.config_value("MODULE_SIG") == "y");
    CHECK(kernel.config_value("MODULE_SIG_FORCE").empty());
    CHECK(module_signature_hash(kernel) == "sha256");
    CHECK(fs::exists(kernel.build_dir() / "scripts/sign-file"));
}

TEST_CASE("kmsdk sign prints one line per module: its kernel, the hash and the key",
          "[signing]")
{
    const auto& c = copies();
    CHECK(c.sign_output == fmt::format("signed {} ({}, sha256, key {})\n", c.kmsdk_key_ko.string(),
                                       test_kernel().release(),
                                       (default_signing_dir() / "cert.pem").string()));
    // kmsdk's own key pair, private key readable by its owner alone.
    auto dir = default_signing_dir();
    CHECK((fs::status(dir / "key.pem").permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));
    CHECK((fs::status(dir).permissions() & (fs::perms::group_all | fs::perms::others_all)) ==
          fs::perms::none);
    CHECK(fs::exists(dir / "cert.der"));
    // The module is the same before its signature, and the file ends with
    // the marker the kernel looks for.
    auto original = read_file(built_module("kms_hello"));
    auto signed_bytes = read_file(c.kmsdk_key_ko);
    auto appended = appended_signature_size(signed_bytes);
    REQUIRE(appended > 0);
    CHECK(signed_bytes.size() == original.size() + appended);
    CHECK(signed_bytes.compare(0, original.size(), original) == 0);
    CHECK_THAT(signed_bytes, EndsWith("~Module signature appended~\n"));
    CHECK(appended_signature_size(original) == 0);
}

TEST_CASE("modinfo in the guest shows the signer, key id and hash of each certificate",
          "[signing]")
{
    const auto& c = copies();
    auto& g = guest();
    struct Expected {
        fs::path ko;
        fs::path cert;
        const char* form;
    } cases[] = {
        {c.kmsdk_key_ko, default_signing_dir() / "cert.pem", "PEM"},
        {c.own_key_ko, c.own.cert, "DER"},
    };
    for (const auto& expected : cases) {
        auto file = expected.ko.filename().string();
        auto field = [&](const char* name) {
            auto r = g.run(Command{{"modinfo", "-F", name, file}});
            INFO("modinfo -F " << name << " " << file << ": " << r.err);
            CHECK(r.status == 0);
            return trimmed(r.out);
        };
        INFO(file);
        CHECK(field("sig_id") == "PKCS#7");
        CHECK(field("signer") == common_name_of(expected.cert, expected.form));
        // sign-file names the key by the certificate's issuer and serial.
        CHECK(field("sig_key") == serial_of(expected.cert, expected.form));
        CHECK(field("sig_hashalgo") == "sha256");
    }
    CHECK(common_name_of(c.own.cert, "DER") == "kmsdk signing test key");
    CHECK_THAT(common_name_of(default_signing_dir() / "cert.pem", "PEM"),
               StartsWith("kmsdk module signing key ("));
    // The unsigned copy has no signature to show.
    auto r = g.run(Command{{"modinfo", "-F", "signer", "kms_hello.ko"}});
    CHECK(r.status == 0);
    CHECK(r.out.empty());
}

namespace {

// Loads `staged` (kms_hello, signed or not) in a fresh guest: the notice
// comes once per boot, and the taint stays.
void check_loads_tainted_unsigned(const std::string& staged)
{
    Guest g{with_copies()};
    REQUIRE((tainted(g) & taint_unsigned) == 0);
    auto log = kernel_log_during(g, [&] {
        auto loaded = g.insmod(staged);
        INFO(loaded.message);
        REQUIRE(loaded.ok());
    });
    CHECK_THAT(log, Contains(std::string{"kms_hello: "} + unverified_notice));
    CHECK((tainted(g) & taint_unsigned) != 0);
    CHECK(g.rmmod("kms_hello").ok());
    CHECK_HEALTHY(g);
}

}  // namespace

TEST_CASE("an unsigned module loads, and the kernel taints itself E and says why",
          "[signing]")
{
    check_loads_tainted_unsigned("kms_hello");
}

TEST_CASE("a module signed by a key the kernel does not trust loads, tainted E as unsigned",
          "[signing]")
{
    check_loads_tainted_unsigned("kms_hello-kmsdk-key");
}

TEST_CASE("booted with module.sig_enforce=1, the kernel refuses unsigned and untrusted modules "
          "with EKEYREJECTED",
          "[signing]")
{
    // Booted from scratch: another kernel command line is another kind of
    // guest, not worth a snapshot.
    Guest g{with_copies().kernel_cmdline("module.sig_enforce=1").cold()};
    auto boot_log = g.dmesg();
    CHECK_THAT(boot_log, Contains("module.sig_enforce=1"));
    // The parameter is the module loader's own, not passed on to init.
    CHECK_THAT(boot_log, !Contains("Unknown kernel command line parameters"));
    CHECK(trimmed(g.read("/sys/module/module/parameters/sig_enforce")) == "Y");

    struct Refusal {
        std::string file;
        const char* kernel_says;
    } refusals[] = {
        {"kms_hello", "Loading of unsigned module is rejected"},
        {"kms_hello-kmsdk-key", "Loading of module with unavailable key is rejected"},
        {"kms_hello-own-key", "Loading of module with unavailable key is rejected"},
    };
    for (const auto& refusal : refusals) {
        INFO(refusal.file);
        std::string said;
        auto log = kernel_log_during(g, [&] {
            auto r = g.run(Command{{"insmod", refusal.file + ".ko"}});
            CHECK(r.status == 1);
            said = r.err;
        });
        // kmod's insmod, in its own words, and the errno behind them.
        CHECK(said == fmt::format("insmod: ERROR: could not insert module {}.ko: Key was "
                                  "rejected by service\n",
                                  refusal.file));
        CHECK_THAT(log, Contains(refusal.kernel_says));
        // The agent's finit_module, which the library's insmod makes.
        auto agent = g.insmod(refusal.file);
        CHECK(agent.error == EKEYREJECTED);
        CHECK_FALSE(is_loaded(g, "kms_hello"));
    }
    CHECK((tainted(g) & taint_unsigned) == 0);
    CHECK_HEALTHY(g);
}

TEST_CASE("a signed module signed again carries one signature, the new one", "[signing]")
{
    detail::TempDir dir{"kmsdk-signing-test"};
    auto once = copy_of_hello(dir.path(), "once.ko");
    auto twice = copy_of_hello(dir.path(), "twice.ko");
    REQUIRE(run_kmsdk({"sign", "-q", once.string()}).status == 0);
    REQUIRE(run_kmsdk({"sign", "-q", twice.string()}).status == 0);
    auto again = run_kmsdk({"sign", twice.string()});
    INFO(describe(again));
    REQUIRE(again.status == 0);
    CHECK_THAT(again.out, EndsWith(", replacing its signature\n"));
    // sign-file's PKCS#7 carries no signing time: the same key over the
    // same module gives the same bytes, so twice-signed equals once-signed.
    CHECK(read_file(once) == read_file(twice));
    CHECK(files_in(dir.path()) == std::vector<std::string>{"once.ko", "twice.ko"});
}

TEST_CASE("kmsdk sign refuses bad input in one line, exit 1, leaving every file as it was",
          "[signing]")
{
    detail::TempDir dir{"kmsdk-signing-test"};
    auto hello = copy_of_hello(dir.path(), "hello.ko");
    auto original = read_file(hello);
    auto text = dir.path() / "notes.ko";
    write_file_atomically(text, "not a module\n");
    std::string release;
    auto uncached = hello_for_uncached_kernel(dir.path(), &release);
    auto before = files_in(dir.path());

    struct Refused {
        std::vector<std::string> args;
        std::string says;
    } cases[] = {
        {{"sign", text.string()}, text.string() + " is not a valid kernel module"},
        {{"sign", (dir.path() / "missing.ko").string()},
         (dir.path() / "missing.ko").string() + " does not exist"},
        {{"sign", uncached.string()},
         fmt::format("was built for {}, which is not in the kmsdk cache: fetch it (kmsdk "
                     "kernels fetch {})",
                     release, release)},
        {{"sign", "--key", (dir.path() / "no-key.pem").string(), "--cert",
          (dir.path() / "no-cert.pem").string(), hello.string()},
         "the signing key " + (dir.path() / "no-key.pem").string() + " does not exist"},
        // One bad module among good ones: none is signed.
        {{"sign", hello.string(), text.string()}, "is not a valid kernel module"},
    };
    for (const auto& refused : cases) {
        auto r = run_kmsdk(refused.args);
        INFO(describe(r));
        CHECK(r.status == 1);
        CHECK_THAT(r.err, StartsWith("kmsdk: "));
        CHECK_THAT(r.err, Contains(refused.says));
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(r.out.empty());
    }
    // A key without its certificate is a bad command line.
    auto half = run_kmsdk({"sign", "--key", "k.pem", hello.string()});
    CHECK(half.status == 2);
    CHECK_THAT(half.err, Contains("--key requires --cert"));

    CHECK(files_in(dir.path()) == before);
    CHECK(read_file(hello) == original);
}
