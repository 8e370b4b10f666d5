// ECDSA P-256 / SHA-256 verification against Wycheproof's IEEE P1363 vectors, plus
// tampering and malformed sizes.
#include "crypto/ecdsa_p256.h"

#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "tests/crypto/test_hex.h"

namespace modelvault::crypto {
namespace {

using test::FromHex;

// Wycheproof testvectors/ecdsa_secp256r1_sha256_p1363_test.json (C2SP/wycheproof), first
// test group: the key's "uncompressed" point and tcIds 1 (valid), 8, 9, 25 (invalid), all
// over msg "313233343030" ("123400").
const char kWycheproofKey[] =
    "042927b10512bae3eddcfe467828128bad2903269919f7086069c8c4df6c732838"
    "c7787964eaac00e5921fb1498a60f4606766b3d9685001558d1a974e7341513e";
const char kWycheproofMsg[] = "313233343030";
// tcId 1, "signature malleability": valid.
const char kValidSig[] =
    "2ba3a8be6b94d5ec80a6d9d1190a436effe50d85a1eee859b8cc6af9bd5c2e18"
    "4cd60b855d442f5b3c7b11eb6c4e0ae7525fe710fab9aa7c77a67f79e6fadd76";
// tcId 8, "Modified r or s": invalid.
const char kModifiedSig[] =
    "2ba3a8be6b94d5ec80a6d9d1190a436effe50d85a1eee859b8cc6af9bd5c2e18"
    "4cd60b865d442f5a3c7b11eb6c4e0ae79578ec6353a20bf783ecb4b6ea97b825";
// tcId 9, r = s = 0: invalid (EdgeCase).
const char kZeroSig[] =
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000";
// tcId 25, r = s = n (the group order): invalid (EdgeCase).
const char kOrderSig[] =
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
// tcId 2: r + n, a 65-byte r (the whole signature 66 bytes): invalid by size.
const char kLongSig[] =
    "012ba3a8bd6b94d5ed80a6d9d1190a436ebccc0833490686deac8635bcb9bf5369"
    "00b329f479a2bbd0a5c384ee1493b1f5186a87139cac5df4087c134b49156847db";

TEST(EcdsaP256Test, WycheproofValidSignatureVerifies) {
  Status st = EcdsaP256Verify(FromHex(kWycheproofKey), FromHex(kWycheproofMsg), FromHex(kValidSig));
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST(EcdsaP256Test, WycheproofInvalidSignaturesAreCorruption) {
  for (const char* sig : {kModifiedSig, kZeroSig, kOrderSig}) {
    Status st = EcdsaP256Verify(FromHex(kWycheproofKey), FromHex(kWycheproofMsg), FromHex(sig));
    EXPECT_EQ(st.code(), Code::kCorruption) << sig << ": " << st.ToString();
    EXPECT_EQ(st.message(), "signature does not verify");
  }
  Status st = EcdsaP256Verify(FromHex(kWycheproofKey), FromHex(kWycheproofMsg), FromHex(kLongSig));
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
}

TEST(EcdsaP256Test, TamperedMessageOrSignatureFails) {
  std::vector<uint8_t> key = FromHex(kWycheproofKey);
  std::vector<uint8_t> msg = FromHex(kWycheproofMsg);
  std::vector<uint8_t> sig = FromHex(kValidSig);
  std::vector<uint8_t> bad_msg = msg;
  bad_msg.back() ^= 0x01;
  EXPECT_EQ(EcdsaP256Verify(key, bad_msg, sig).code(), Code::kCorruption);
  EXPECT_EQ(EcdsaP256Verify(key, {}, sig).code(), Code::kCorruption);
  for (size_t i : {size_t{0}, size_t{31}, size_t{32}, size_t{63}}) {
    std::vector<uint8_t> bad_sig = sig;
    bad_sig[i] ^= 0x80;
    EXPECT_EQ(EcdsaP256Verify(key, msg, bad_sig).code(), Code::kCorruption) << "byte " << i;
  }
  // Swapping r and s is not a signature either.
  std::vector<uint8_t> swapped(sig.begin() + 32, sig.end());
  swapped.insert(swapped.end(), sig.begin(), sig.begin() + 32);
  EXPECT_EQ(EcdsaP256Verify(key, msg, swapped).code(), Code::kCorruption);
  // The check still passes afterwards: no OpenSSL error state is left behind.
  EXPECT_TRUE(EcdsaP256Verify(key, msg, sig).ok());
}

TEST(EcdsaP256Test, MalformedSizesAreInvalidArgument) {
  std::vector<uint8_t> key = FromHex(kWycheproofKey);
  std::vector<uint8_t> msg = FromHex(kWycheproofMsg);
  std::vector<uint8_t> sig = FromHex(kValidSig);
  for (size_t n : {size_t{0}, size_t{63}, size_t{65}, size_t{72}}) {
    std::vector<uint8_t> s(n, 0x01);
    EXPECT_EQ(EcdsaP256Verify(key, msg, s).code(), Code::kInvalidArgument) << n;
  }
  // Public keys: empty, the point at infinity, compressed, raw X || Y, one byte long.
  std::vector<uint8_t> compressed(key.begin(), key.begin() + 33);
  compressed[0] = 0x02 | (key.back() & 1);
  std::vector<uint8_t> raw(key.begin() + 1, key.end());
  std::vector<uint8_t> longer = key;
  longer.push_back(0);
  for (const std::vector<uint8_t>& k :
       {std::vector<uint8_t>{}, std::vector<uint8_t>{0x00}, compressed, raw, longer}) {
    EXPECT_EQ(EcdsaP256Verify(k, msg, sig).code(), Code::kInvalidArgument) << k.size();
  }
}

TEST(EcdsaP256Test, PointOffTheCurveIsInvalidArgument) {
  std::vector<uint8_t> key = FromHex(kWycheproofKey);
  key.back() ^= 0x01;  // Y no longer matches X
  Status st = EcdsaP256Verify(key, FromHex(kWycheproofMsg), FromHex(kValidSig));
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  // (0, 0) is not on P-256 either.
  std::vector<uint8_t> zero(kP256PublicKeySize, 0);
  zero[0] = 0x04;
  EXPECT_EQ(EcdsaP256Verify(zero, FromHex(kWycheproofMsg), FromHex(kValidSig)).code(),
            Code::kInvalidArgument);
}

TEST(EcdsaP256Test, DigestIsSha256) {
  std::vector<uint8_t> msg = test::Bytes("abc");
  std::vector<uint8_t> digest = EcdsaP256Digest(msg);
  // FIPS 180-2, appendix B.1.
  EXPECT_EQ(digest, FromHex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  Digest direct = Sha256(msg);
  EXPECT_EQ(digest, std::vector<uint8_t>(direct.begin(), direct.end()));
}

}  // namespace
}  // namespace modelvault::crypto
