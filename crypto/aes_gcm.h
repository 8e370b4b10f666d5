// AesGcm: AES-256-GCM with 96-bit nonces and 128-bit tags under one key (OpenSSL EVP).
//
// Open() verifies the tag before it returns any plaintext; on a mismatch it wipes the output
// and returns Corruption. The object is immutable after New() and safe to use from many
// threads at once: each thread reuses a cipher context of its own, so a call allocates
// nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace modelvault::crypto {

class AesGcm {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;

  static Result<AesGcm> New(std::span<const uint8_t> key);
  // Takes ownership of `key` instead of copying it.
  static Result<AesGcm> New(SecretBytes key);

  // Encrypts `plain` into `out_cipher` (same size) and writes the tag to `out_tag`.
  Status Seal(std::span<uint8_t> out_cipher, std::span<uint8_t> out_tag,
              std::span<const uint8_t> nonce, std::span<const uint8_t> aad,
              std::span<const uint8_t> plain) const;
  // Decrypts `cipher` into `out_plain` (same size) if `tag` authenticates it and `aad`.
  Status Open(std::span<uint8_t> out_plain, std::span<const uint8_t> nonce,
              std::span<const uint8_t> aad, std::span<const uint8_t> cipher,
              std::span<const uint8_t> tag) const;

 private:
  explicit AesGcm(SecretBytes key) : key_(std::make_shared<const SecretBytes>(std::move(key))) {}
  std::shared_ptr<const SecretBytes> key_;
};

}  // namespace modelvault::crypto
