// Key derivation: HKDF-SHA256 (RFC 5869) for subkeys of the master key, and scrypt
// (RFC 7914) for passphrases, both from OpenSSL's EVP_KDF. Outputs land in locked memory.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace modelvault::crypto {

Result<SecretBytes> HkdfSha256(std::span<const uint8_t> ikm, std::span<const uint8_t> salt,
                               std::span<const uint8_t> info, size_t length);

struct ScryptParams {
  uint64_t n = uint64_t{1} << 17;  // CPU/memory cost; a power of two
  uint32_t r = 8;
  uint32_t p = 1;
};

Result<SecretBytes> Scrypt(std::span<const uint8_t> passphrase, std::span<const uint8_t> salt,
                           const ScryptParams& params, size_t length);

// Views a string's bytes, for labels passed as `info`.
inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace modelvault::crypto
