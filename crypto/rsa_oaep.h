// RSA-OAEP encryption with a public key given as its modulus and public exponent (big-endian
// bytes, as PKCS#11 returns CKA_MODULUS and CKA_PUBLIC_EXPONENT), done in software with
// OpenSSL. It lets a keyslot be sealed to a token's RSA key without the token's PIN; only
// the token can decrypt. The OAEP label is empty and MGF1 uses the same hash as OAEP.
// Thread-safe free function.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"

namespace modelvault::crypto {

enum class OaepHash { kSha1, kSha256 };

// The OAEP ciphertext of `plaintext` (modulus-sized). InvalidArgument if the key does not
// parse or `plaintext` is too long for the modulus and hash.
Result<std::vector<uint8_t>> RsaOaepEncrypt(std::span<const uint8_t> modulus,
                                            std::span<const uint8_t> public_exponent, OaepHash hash,
                                            std::span<const uint8_t> plaintext);

}  // namespace modelvault::crypto
