// ECDSA over NIST P-256 with SHA-256, for publisher signatures made by tokens that lack
// Ed25519. Public keys are SEC1 uncompressed points (65 bytes, 0x04 || X || Y), as PKCS#11
// returns them in CKA_EC_POINT; signatures are raw r || s (64 bytes, IEEE P1363), as
// PKCS#11's CKM_ECDSA makes them. Thread-safe free functions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"

namespace modelvault::crypto {

inline constexpr size_t kP256PublicKeySize = 65;
inline constexpr size_t kP256SignatureSize = 64;

// Ok if `signature` is a valid ECDSA-SHA256 signature of `message` under `public_key`;
// Corruption "signature does not verify" otherwise; InvalidArgument for malformed sizes or
// a point not on the curve.
Status EcdsaP256Verify(std::span<const uint8_t> public_key, std::span<const uint8_t> message,
                       std::span<const uint8_t> signature);

// SHA-256 of `message`: what a token signs with CKM_ECDSA, which takes a digest.
std::vector<uint8_t> EcdsaP256Digest(std::span<const uint8_t> message);

}  // namespace modelvault::crypto
