// HKDF-SHA256 against RFC 5869 appendix A.1-A.3 and scrypt against RFC 7914 section 12.
#include "crypto/kdf.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "tests/crypto/test_hex.h"

namespace modelvault::crypto {
namespace {

using test::FromHex;
using test::ToHex;

std::vector<uint8_t> Range(int first, int last) {  // first..last inclusive
  std::vector<uint8_t> out;
  for (int i = first; i <= last; ++i) out.push_back(static_cast<uint8_t>(i));
  return out;
}

// RFC 5869 A.1: basic test case with SHA-256.
TEST(HkdfSha256Test, Rfc5869TestCase1) {
  auto okm = HkdfSha256(std::vector<uint8_t>(22, 0x0b), FromHex("000102030405060708090a0b0c"),
                        FromHex("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_TRUE(okm.ok()) << okm.status().ToString();
  EXPECT_EQ(ToHex(okm->span()), ToHex(FromHex("3cb25f25faacd57a90434f64d0362f2a"
                                              "2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                                              "34007208d5b887185865")));
}

// RFC 5869 A.2: longer inputs and outputs (IKM 0x00..0x4f, salt 0x60..0xaf,
// info 0xb0..0xff, L = 82).
TEST(HkdfSha256Test, Rfc5869TestCase2) {
  auto okm = HkdfSha256(Range(0x00, 0x4f), Range(0x60, 0xaf), Range(0xb0, 0xff), 82);
  ASSERT_TRUE(okm.ok()) << okm.status().ToString();
  EXPECT_EQ(ToHex(okm->span()), ToHex(FromHex("b11e398dc80327a1c8e7f78c596a4934"
                                              "4f012eda2d4efad8a050cc4c19afa97c"
                                              "59045a99cac7827271cb41c65e590e09"
                                              "da3275600c2f09b8367793a9aca3db71"
                                              "cc30c58179ec3e87c14c01d5c1f3434f"
                                              "1d87")));
}

// RFC 5869 A.3: zero-length salt and info, passed as empty spans with null data.
TEST(HkdfSha256Test, Rfc5869TestCase3) {
  auto okm = HkdfSha256(std::vector<uint8_t>(22, 0x0b), {}, {}, 42);
  ASSERT_TRUE(okm.ok()) << okm.status().ToString();
  EXPECT_EQ(ToHex(okm->span()), ToHex(FromHex("8da4e775a563c18f715f802a063c5a31"
                                              "b8a11f5c5ee1879ec3454e5f3c738d2d"
                                              "9d201395faa4b61a96c8")));
}

TEST(HkdfSha256Test, InfoSeparatesSubkeysAndPrefixesAgree) {
  std::vector<uint8_t> ikm(32, 0x42);
  auto a = HkdfSha256(ikm, {}, AsBytes("modelvault names"), 64);
  auto b = HkdfSha256(ikm, {}, AsBytes("modelvault content"), 64);
  auto a32 = HkdfSha256(ikm, {}, AsBytes("modelvault names"), 32);
  ASSERT_TRUE(a.ok() && b.ok() && a32.ok());
  EXPECT_EQ(a->size(), 64u);
  EXPECT_FALSE(a->Equals(*b));
  // HKDF-Expand output is a stream: a shorter request is a prefix of a longer one.
  EXPECT_EQ(ToHex(a->span().first(32)), ToHex(a32->span()));
}

TEST(HkdfSha256Test, RejectsOutputLongerThan255Blocks) {
  std::vector<uint8_t> ikm(32, 1);
  EXPECT_TRUE(HkdfSha256(ikm, {}, {}, 255 * 32).ok());
  EXPECT_FALSE(HkdfSha256(ikm, {}, {}, 255 * 32 + 1).ok());
}

// RFC 7914 section 12, first vector: scrypt(P="", S="", N=16, r=1, p=1, dkLen=64).
TEST(ScryptTest, Rfc7914EmptyPasswordAndSalt) {
  auto dk = Scrypt({}, {}, ScryptParams{.n = 16, .r = 1, .p = 1}, 64);
  ASSERT_TRUE(dk.ok()) << dk.status().ToString();
  EXPECT_EQ(ToHex(dk->span()), ToHex(FromHex("77 d6 57 62 38 65 7b 20 3b 19 ca 42 c1 8a 04 97"
                                             "f1 6b 48 44 e3 07 4a e8 df df fa 3f ed e2 14 42"
                                             "fc d0 06 9d ed 09 48 f8 32 6a 75 3a 0f c8 1f 17"
                                             "e8 d3 e0 fb 2e 0d 36 28 cf 35 e2 0c 38 d1 89 06")));
}

// RFC 7914 section 12, second vector: scrypt(P="password", S="NaCl", N=1024, r=8, p=16,
// dkLen=64). (The third, N=1048576, is left out for time.)
TEST(ScryptTest, Rfc7914PasswordNaCl) {
  auto dk =
      Scrypt(AsBytes("password"), AsBytes("NaCl"), ScryptParams{.n = 1024, .r = 8, .p = 16}, 64);
  ASSERT_TRUE(dk.ok()) << dk.status().ToString();
  EXPECT_EQ(ToHex(dk->span()), ToHex(FromHex("fd ba be 1c 9d 34 72 00 78 56 e7 19 0d 01 e9 fe"
                                             "7c 6a d7 cb c8 23 78 30 e7 73 76 63 4b 37 31 62"
                                             "2e af 30 d9 2e 22 a3 88 6f f1 09 27 9d 98 30 da"
                                             "c7 27 af b9 4a 83 ee 6d 83 60 cb df a2 cc 06 40")));
}

TEST(ScryptTest, RejectsParametersOutOfRange) {
  const auto bad = [](ScryptParams p) {
    return Scrypt(AsBytes("pw"), AsBytes("salt"), p, 32).status().code();
  };
  EXPECT_EQ(bad({.n = 0, .r = 1, .p = 1}), Code::kInvalidArgument);
  EXPECT_EQ(bad({.n = 1, .r = 1, .p = 1}), Code::kInvalidArgument);
  EXPECT_EQ(bad({.n = 1000, .r = 1, .p = 1}), Code::kInvalidArgument);
  EXPECT_EQ(bad({.n = 16, .r = 0, .p = 1}), Code::kInvalidArgument);
  EXPECT_EQ(bad({.n = 16, .r = 1, .p = 0}), Code::kInvalidArgument);
}

TEST(ScryptTest, DefaultsAreAPowerOfTwo) {
  ScryptParams p;
  EXPECT_GE(p.n, uint64_t{1} << 14);
  EXPECT_EQ(p.n & (p.n - 1), 0u);
  EXPECT_GE(p.r, 1u);
  EXPECT_GE(p.p, 1u);
}

}  // namespace
}  // namespace modelvault::crypto
