// Publisher signing keys in PEM files (docs/FORMAT.md, "Signed directories"): the key pair
// that `modelvault signing-key generate` writes, the private key the `sign` command loads,
// and the public keys `verify` and readers trust (--trust).
//
// Private keys are Ed25519 in unencrypted PKCS#8 ("-----BEGIN PRIVATE KEY-----"); public
// keys are SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----"), Ed25519 or EC P-256 (a
// PKCS#11 token's key, exported with `openssl pkey -pubout` or p11tool). Errors name the
// file and what is wrong with it: not PEM, a public key where a private one belongs, an
// encrypted key, another key type. The private key's bytes pass through our code only in
// SecretBytes; OpenSSL's copies live in buffers it cleanses when they are freed.
// Thread-safe free functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/ed25519.h"

namespace modelvault::crypto {

// Names of the signature algorithms, as manifests spell them.
inline constexpr char kEd25519Algorithm[] = "ed25519";
inline constexpr char kEcdsaP256Algorithm[] = "ecdsa-p256-sha256";

// A publisher's public key in the form a manifest carries it.
struct PublicSigningKey {
  std::string algorithm;     // kEd25519Algorithm or kEcdsaP256Algorithm
  std::vector<uint8_t> key;  // raw Ed25519 (32 bytes) or SEC1 uncompressed P-256 (65 bytes)
};

// "sha256:" followed by the hex SHA-256 of the raw public key: how messages, manifests and
// the reader's state name a signer.
std::string SigningKeyId(std::span<const uint8_t> public_key);

// Generates an Ed25519 key pair and writes `private_path` (PKCS#8 PEM, mode 0600) and
// `public_path` (SubjectPublicKeyInfo PEM, mode 0644). Both are created exclusively:
// AlreadyExists naming the file if either exists, since overwriting a publisher key would
// orphan everything it signed. On failure nothing is left behind.
Result<PublicSigningKey> GenerateSigningKeyFiles(const std::string& private_path,
                                                 const std::string& public_path);

// Reads an Ed25519 private key from a PKCS#8 PEM file.
Result<Ed25519PrivateKey> LoadSigningKeyPem(const std::string& path);

// Reads a public key (Ed25519 or EC P-256) from a SubjectPublicKeyInfo PEM file.
Result<PublicSigningKey> LoadPublicKeyPem(const std::string& path);

}  // namespace modelvault::crypto
