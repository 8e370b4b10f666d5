// Decoding CKA_EC_PARAMS and CKA_EC_POINT the ways tokens write them.
#include "keyprovider/pkcs11/pkcs11_ec.h"

#include <gtest/gtest.h>

#include "crypto/hex.h"

namespace modelvault::keyprovider::pkcs11 {
namespace {

std::vector<uint8_t> Hex(const std::string& hex) { return crypto::HexDecode(hex).value(); }

// The decoded key, or an empty vector with the error as a test failure.
std::vector<uint8_t> Decode(EcCurve curve, const std::string& hex) {
  auto key = PublicKeyFromEcPoint(curve, Hex(hex));
  EXPECT_TRUE(key.ok()) << hex << ": " << key.status().ToString();
  return key.ok() ? *key : std::vector<uint8_t>();
}

TEST(Pkcs11EcTest, CurvesByTheirNames) {
  EXPECT_EQ(CurveFromEcParams(Hex("06082a8648ce3d030107")).value(), EcCurve::kP256);
  // RFC 8410 OID, SoftHSM's PrintableString "edwards25519", GnuPG's OID.
  EXPECT_EQ(CurveFromEcParams(Hex("06032b6570")).value(), EcCurve::kEd25519);
  EXPECT_EQ(CurveFromEcParams(Hex("130c656477617264733235353139")).value(), EcCurve::kEd25519);
  EXPECT_EQ(CurveFromEcParams(Hex("06092b06010401da470f01")).value(), EcCurve::kEd25519);
  // P-384, Ed448, X25519, nothing, a truncated OID.
  for (const char* other :
       {"06052b81040022", "06032b6571", "06032b656e", "", "06082a8648ce3d0301"}) {
    auto curve = CurveFromEcParams(Hex(other));
    EXPECT_EQ(curve.status().code(), Code::kUnsupported) << other;
  }
}

TEST(Pkcs11EcTest, PointsWrappedOrBare) {
  std::string point = "04" + std::string(128, 'a');
  std::vector<uint8_t> raw = Hex(point);
  EXPECT_EQ(Decode(EcCurve::kP256, "0441" + point), raw);
  EXPECT_EQ(Decode(EcCurve::kP256, point), raw);
  // Long-form lengths (BER, not DER, but some tokens write them).
  EXPECT_EQ(Decode(EcCurve::kP256, "048141" + point), raw);
  EXPECT_EQ(Decode(EcCurve::kP256, "04820041" + point), raw);
  std::string ed = std::string(64, 'b');
  EXPECT_EQ(Decode(EcCurve::kEd25519, "0420" + ed), Hex(ed));
  EXPECT_EQ(Decode(EcCurve::kEd25519, ed), Hex(ed));
}

TEST(Pkcs11EcTest, MalformedPointsAreInvalidArgument) {
  std::string xy = std::string(128, 'a');
  for (const std::string& bad : {
           std::string("0441") + "02" + xy,                // not uncompressed
           std::string("0442") + "04" + xy,                // length one too long
           std::string("0341") + "04" + xy,                // BIT STRING, not OCTET STRING
           std::string("0421") + "02" + xy.substr(0, 64),  // compressed
           std::string("04") + xy.substr(0, 62),           // 32 bytes: not a P-256 point
           std::string(""),
       }) {
    EXPECT_EQ(PublicKeyFromEcPoint(EcCurve::kP256, Hex(bad)).status().code(),
              Code::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(
      PublicKeyFromEcPoint(EcCurve::kEd25519, Hex("0421" + std::string(66, 'b'))).status().code(),
      Code::kInvalidArgument);
}

}  // namespace
}  // namespace modelvault::keyprovider::pkcs11
