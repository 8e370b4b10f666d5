// Ed25519 signatures (RFC 8032, pure Ed25519 without prehash or context) through OpenSSL.
//
// Ed25519PrivateKey owns one private key, made from a 32-byte seed (a key derived from the
// master key, such as the store's audit-signing key) or freshly generated. It is move-only
// and immutable once made; Sign() may be called from many threads at once, since each call
// uses a signing context of its own. Ed25519Verify() is a thread-safe free function that
// needs only the 32-byte public key.
//
// The private key lives in OpenSSL's memory for the object's lifetime (not in SecretBytes:
// OpenSSL keeps its own copy, which it cleanses when the key is freed). Further factories
// (a publisher key read from PEM, say) add constructors of the same object, so callers
// never see an OpenSSL type.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace modelvault::crypto {

class Ed25519PrivateKey {
 public:
  static constexpr size_t kSeedSize = 32;
  static constexpr size_t kPublicKeySize = 32;
  static constexpr size_t kSignatureSize = 64;

  // The key whose RFC 8032 secret is `seed`. InvalidArgument unless it has kSeedSize bytes.
  static Result<Ed25519PrivateKey> FromSeed(const SecretBytes& seed);
  // A new random key.
  static Result<Ed25519PrivateKey> Generate();

  Ed25519PrivateKey(Ed25519PrivateKey&& other) noexcept;
  Ed25519PrivateKey& operator=(Ed25519PrivateKey&& other) noexcept;
  Ed25519PrivateKey(const Ed25519PrivateKey&) = delete;
  Ed25519PrivateKey& operator=(const Ed25519PrivateKey&) = delete;
  ~Ed25519PrivateKey();

  // The kSignatureSize-byte signature of `message`.
  Result<std::vector<uint8_t>> Sign(std::span<const uint8_t> message) const;
  // The kPublicKeySize-byte public key (RFC 8032 encoding). Not secret.
  const std::vector<uint8_t>& PublicKey() const { return public_key_; }

 private:
  struct Key;  // the OpenSSL handle, defined in ed25519.cc
  Ed25519PrivateKey(std::unique_ptr<Key> key, std::vector<uint8_t> public_key);
  std::unique_ptr<Key> key_;
  std::vector<uint8_t> public_key_;
};

// Ok if `signature` is a valid signature of `message` under `public_key`. InvalidArgument if
// the key or the signature has the wrong size or the key is not a curve point; Corruption
// "signature does not verify" otherwise.
Status Ed25519Verify(std::span<const uint8_t> public_key, std::span<const uint8_t> message,
                     std::span<const uint8_t> signature);

}  // namespace modelvault::crypto
