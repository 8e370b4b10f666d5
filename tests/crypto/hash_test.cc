// SHA-256 against FIPS 180-2 examples and HMAC-SHA256 against RFC 4231.
#include "crypto/hash.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/crypto/test_hex.h"

namespace modelvault::crypto {
namespace {

using test::Bytes;
using test::FromHex;
using test::ToHex;

TEST(Sha256Test, Abc) {
  EXPECT_EQ(ToHex(Sha256(Bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, EmptyString) {
  EXPECT_EQ(ToHex(Sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256Test, TwoBlockMessage) {
  EXPECT_EQ(ToHex(Sha256(Bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

// RFC 4231 section 4.2, test case 1.
TEST(HmacSha256Test, Rfc4231TestCase1) {
  auto mac = HmacSha256(std::vector<uint8_t>(20, 0x0b), Bytes("Hi There"));
  ASSERT_TRUE(mac.ok()) << mac.status().ToString();
  EXPECT_EQ(ToHex(*mac), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

// RFC 4231 section 4.3, test case 2: a key shorter than the output.
TEST(HmacSha256Test, Rfc4231TestCase2) {
  auto mac = HmacSha256(Bytes("Jefe"), Bytes("what do ya want for nothing?"));
  ASSERT_TRUE(mac.ok()) << mac.status().ToString();
  EXPECT_EQ(ToHex(*mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// RFC 4231 section 4.7, test case 6: a key longer than the block size is hashed first.
TEST(HmacSha256Test, Rfc4231TestCase6) {
  auto mac = HmacSha256(std::vector<uint8_t>(131, 0xaa),
                        Bytes("Test Using Larger Than Block-Size Key - Hash Key First"));
  ASSERT_TRUE(mac.ok()) << mac.status().ToString();
  EXPECT_EQ(ToHex(*mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

// HMAC with an empty key and message (the example on Wikipedia's HMAC page; the same as
// `openssl mac -digest SHA256 -macopt hexkey: HMAC` of empty input). An empty span has a
// null data(), which EVP_MAC_init would take for "no key given".
TEST(HmacSha256Test, EmptyKeyAndMessage) {
  auto mac = HmacSha256({}, {});
  ASSERT_TRUE(mac.ok()) << mac.status().ToString();
  EXPECT_EQ(ToHex(*mac), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(HmacSha256Test, KeyAndMessageBothMatter) {
  auto a = HmacSha256(Bytes("key1"), Bytes("message"));
  auto b = HmacSha256(Bytes("key2"), Bytes("message"));
  auto c = HmacSha256(Bytes("key1"), Bytes("messagf"));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_NE(*a, *b);
  EXPECT_NE(*a, *c);
}

}  // namespace
}  // namespace modelvault::crypto
