// SPDX-License-Identifier: GPL-2.0
// Reading the signature sign-file appends to a module: how long it is, so
// that signing a signed module replaces it rather than stacking another.
#include "kmsdk/signing.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

const std::string marker = "~Module signature appended~\n";

// The trailer sign-file writes after a PKCS#7 blob of `blob` bytes: the
// kernel's struct module_signature (algo, hash, id_type 2 = PKCS#7,
// signer_len, key_id_len, three pad bytes, the blob's length big-endian),
// then the marker.
std::string trailer(std::uint32_t blob, unsigned char signer_len = 0, unsigned char key_id_len = 0)
{
    std::string descriptor{'\0', '\0', '\2', static_cast<char>(signer_len),
                           static_cast<char>(key_id_len), '\0', '\0', '\0'};
    for (int shift = 24; shift >= 0; shift -= 8)
        descriptor += static_cast<char>((blob >> shift) & 0xff);
    return descriptor + marker;
}

}  // namespace

TEST_CASE("a module without the marker has no appended signature", "[signing]")
{
    CHECK(kmsdk::appended_signature_size("") == 0);
    CHECK(kmsdk::appended_signature_size("\x7f" "ELF and the rest of a module") == 0);
    // The marker anywhere but at the very end is not a signature.
    CHECK(kmsdk::appended_signature_size("ELF" + trailer(4) + "x") == 0);
}

TEST_CASE("a signature's size is the blob, the descriptor and the marker", "[signing]")
{
    std::string module = "\x7f" "ELF body";
    std::string blob(558, 'S');
    CHECK(kmsdk::appended_signature_size(module + blob + trailer(558)) == 558 + 12 + 28);
    // signer and key id bytes (unused by PKCS#7, whose blob names the
    // signer) count too.
    CHECK(kmsdk::appended_signature_size(module + blob + "ab" + trailer(558, 1, 1)) ==
          558 + 2 + 12 + 28);
    // Exactly the whole file: a blob and its trailer with nothing before.
    CHECK(kmsdk::appended_signature_size(blob + trailer(558)) == 558 + 12 + 28);
}

TEST_CASE("a damaged signature trailer is refused, naming what to do", "[signing]")
{
    using Catch::Matchers::Contains;
    CHECK_THROWS_WITH(kmsdk::appended_signature_size(marker), Contains("too short"));
    CHECK_THROWS_WITH(kmsdk::appended_signature_size("ELF" + trailer(1000)),
                      Contains("claims 1000 bytes of signature") && Contains("rebuild it"));
    CHECK_THROWS_WITH(kmsdk::appended_signature_size("ELF" + trailer(0)),
                      Contains("claims 0 bytes"));
}
