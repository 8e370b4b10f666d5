// Decoding the attributes PKCS#11 keeps on EC and Edwards keys (PKCS#11 3.0, section
// 2.3): CKA_EC_PARAMS names the curve, CKA_EC_POINT holds the public point. Internal to
// keyprovider/pkcs11; pure functions on bytes, thread-safe.
//
// Errors: a curve we do not sign with is Unsupported naming it; a malformed value is
// InvalidArgument naming the attribute (the token gave us something PKCS#11 does not allow).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace modelvault::keyprovider::pkcs11 {

enum class EcCurve { kP256, kEd25519 };

// The curve named by a DER CKA_EC_PARAMS. P-256 is the namedCurve OID 1.2.840.10045.3.1.7
// (prime256v1). Ed25519 is any of the three forms tokens use: OID 1.3.101.112 (RFC 8410),
// the PrintableString "edwards25519" (PKCS#11 3.0, what SoftHSM 2.6 writes) or GnuPG's
// older OID 1.3.6.1.4.1.11591.15.1. Explicit curve parameters are refused.
Result<EcCurve> CurveFromEcParams(std::span<const uint8_t> ec_params);

// The public key in a CKA_EC_POINT: PKCS#11 says a DER OCTET STRING wrapping the point,
// some tokens give the bare point; both are accepted. For P-256 the point must be SEC1
// uncompressed (65 bytes, 0x04 || X || Y); for Ed25519 it is the 32-byte RFC 8032 key.
Result<std::vector<uint8_t>> PublicKeyFromEcPoint(EcCurve curve, std::span<const uint8_t> ec_point);

// "P-256" or "Ed25519", for messages.
std::string CurveName(EcCurve curve);

}  // namespace modelvault::keyprovider::pkcs11
