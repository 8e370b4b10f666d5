// AesSiv: deterministic authenticated encryption, AES-SIV (RFC 5297) with a 512-bit key
// (AES-256-SIV), as OpenSSL 3 provides it. Output is the 16-byte synthetic IV followed by the
// ciphertext, the layout of RFC 5297. Used for file names, where equal inputs under equal
// associated data must map to equal outputs. Thread-safe after New().
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace modelvault::crypto {

class AesSiv {
 public:
  static constexpr size_t kKeySize = 64;
  static constexpr size_t kTagSize = 16;

  static Result<AesSiv> New(std::span<const uint8_t> key);

  // Each element of `associated` is one separate associated-data string of RFC 5297; an
  // empty element is an empty string, distinct from leaving it out. `plain` must not be
  // empty: OpenSSL 3.0 cannot encrypt an empty plaintext with SIV, so that is Unsupported.
  Result<std::vector<uint8_t>> Encrypt(std::initializer_list<std::span<const uint8_t>> associated,
                                       std::span<const uint8_t> plain) const;
  // Returns Corruption if the input does not authenticate or holds no ciphertext.
  Result<std::vector<uint8_t>> Decrypt(std::initializer_list<std::span<const uint8_t>> associated,
                                       std::span<const uint8_t> sealed) const;

 private:
  explicit AesSiv(SecretBytes key) : key_(std::make_shared<const SecretBytes>(std::move(key))) {}
  std::shared_ptr<const SecretBytes> key_;
};

}  // namespace modelvault::crypto
