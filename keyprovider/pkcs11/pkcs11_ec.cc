#include "keyprovider/pkcs11/pkcs11_ec.h"

#include <algorithm>
#include <array>
#include <optional>

#include "crypto/hex.h"

namespace modelvault::keyprovider::pkcs11 {
namespace {

constexpr uint8_t kOctetStringTag = 0x04;
constexpr size_t kP256PointSize = 65;
constexpr size_t kEd25519KeySize = 32;

// DER encodings (tag, length, value) of the curve names CurveFromEcParams knows.
constexpr std::array<uint8_t, 10> kP256Oid = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                              0xce, 0x3d, 0x03, 0x01, 0x07};
constexpr std::array<uint8_t, 5> kEd25519Oid = {0x06, 0x03, 0x2b, 0x65, 0x70};
constexpr std::array<uint8_t, 11> kEd25519GnuPgOid = {0x06, 0x09, 0x2b, 0x06, 0x01, 0x04,
                                                      0x01, 0xda, 0x47, 0x0f, 0x01};
constexpr std::array<uint8_t, 14> kEd25519Name = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r',
                                                  'd',  's',  '2', '5', '5', '1', '9'};

template <size_t N>
bool Equals(std::span<const uint8_t> a, const std::array<uint8_t, N>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

// The contents of an OCTET STRING that fills `der` exactly, or nullopt. DER says the
// shortest length form; the long forms up to two bytes are taken as well (BER), since some
// tokens write them and the point is checked by every signature anyway.
std::optional<std::span<const uint8_t>> OctetStringContents(std::span<const uint8_t> der) {
  if (der.size() < 2 || der[0] != kOctetStringTag) return std::nullopt;
  size_t header = 2;
  size_t length = der[1];
  if (length == 0x81 && der.size() >= 3) {
    header = 3;
    length = der[2];
  } else if (length == 0x82 && der.size() >= 4) {
    header = 4;
    length = (size_t{der[2]} << 8) | der[3];
  } else if (length >= 0x80) {
    return std::nullopt;  // indefinite, or longer than any point
  }
  if (der.size() - header != length) return std::nullopt;
  return der.subspan(header);
}

}  // namespace

std::string CurveName(EcCurve curve) { return curve == EcCurve::kP256 ? "P-256" : "Ed25519"; }

Result<EcCurve> CurveFromEcParams(std::span<const uint8_t> ec_params) {
  if (Equals(ec_params, kP256Oid)) return EcCurve::kP256;
  if (Equals(ec_params, kEd25519Oid) || Equals(ec_params, kEd25519Name) ||
      Equals(ec_params, kEd25519GnuPgOid)) {
    return EcCurve::kEd25519;
  }
  // The hex is what `pkcs11-tool -O` prints as EC_PARAMS, so the user can look it up.
  return Status::Unsupported(
      "the key's curve (CKA_EC_PARAMS " + crypto::HexEncode(ec_params) +
      ") is not one manifests are signed with; use a P-256 (prime256v1) or Ed25519 key");
}

Result<std::vector<uint8_t>> PublicKeyFromEcPoint(EcCurve curve,
                                                  std::span<const uint8_t> ec_point) {
  const size_t size = curve == EcCurve::kP256 ? kP256PointSize : kEd25519KeySize;
  std::span<const uint8_t> point = ec_point;
  // A bare point and a wrapped one never have the same length, so the size decides.
  if (ec_point.size() != size) {
    auto contents = OctetStringContents(ec_point);
    if (!contents || contents->size() != size) {
      return Status::InvalidArgument("the key's CKA_EC_POINT (" + std::to_string(ec_point.size()) +
                                     " bytes) is not a DER OCTET STRING holding a " +
                                     CurveName(curve) + " public key");
    }
    point = *contents;
  }
  if (curve == EcCurve::kP256 && point[0] != 0x04) {
    return Status::InvalidArgument(
        "the key's CKA_EC_POINT is not an uncompressed P-256 point (0x04 || X || Y)");
  }
  return std::vector<uint8_t>(point.begin(), point.end());
}

}  // namespace modelvault::keyprovider::pkcs11
