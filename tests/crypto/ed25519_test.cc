// Ed25519: the RFC 8032 section 7.1 vectors (TEST 1, 2, 3) as a known-answer test, then
// signatures that must fail: another message, another key, a flipped bit, wrong sizes.
#include "crypto/ed25519.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/crypto/test_hex.h"

namespace modelvault::crypto {
namespace {

using test::Bytes;
using test::FromHex;
using test::ToHex;

struct Vector {
  const char* name;
  const char* secret;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032, section 7.1, printed the way the RFC groups them.
const Vector kRfc8032[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

Ed25519PrivateKey KeyFromHex(const char* seed_hex) {
  std::vector<uint8_t> seed = FromHex(seed_hex);
  auto key = Ed25519PrivateKey::FromSeed(SecretBytes::CopyOf(seed));
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return std::move(key).value();
}

TEST(Ed25519Test, Rfc8032Vectors) {
  for (const Vector& v : kRfc8032) {
    SCOPED_TRACE(v.name);
    Ed25519PrivateKey key = KeyFromHex(v.secret);
    EXPECT_EQ(ToHex(key.PublicKey()), v.public_key);
    std::vector<uint8_t> message = FromHex(v.message);
    auto sig = key.Sign(message);
    ASSERT_TRUE(sig.ok()) << sig.status().ToString();
    EXPECT_EQ(ToHex(*sig), v.signature);
    EXPECT_TRUE(Ed25519Verify(FromHex(v.public_key), message, FromHex(v.signature)).ok());
  }
}

TEST(Ed25519Test, TamperedInputsDoNotVerify) {
  const Vector& v = kRfc8032[2];
  std::vector<uint8_t> pk = FromHex(v.public_key);
  std::vector<uint8_t> msg = FromHex(v.message);
  std::vector<uint8_t> sig = FromHex(v.signature);

  std::vector<uint8_t> other_msg = msg;
  other_msg[1] ^= 0x01;
  Status st = Ed25519Verify(pk, other_msg, sig);
  EXPECT_EQ(st.code(), Code::kCorruption);
  EXPECT_EQ(st.message(), "signature does not verify");

  std::vector<uint8_t> longer = msg;
  longer.push_back(0);
  EXPECT_EQ(Ed25519Verify(pk, longer, sig).code(), Code::kCorruption);

  for (size_t i : {size_t{0}, size_t{31}, size_t{32}, size_t{63}}) {
    std::vector<uint8_t> bad = sig;
    bad[i] ^= 0x80;
    EXPECT_EQ(Ed25519Verify(pk, msg, bad).code(), Code::kCorruption) << "byte " << i;
  }
  // Another key's public key.
  EXPECT_EQ(Ed25519Verify(FromHex(kRfc8032[0].public_key), msg, sig).code(), Code::kCorruption);
}

TEST(Ed25519Test, WrongSizesAreInvalidArguments) {
  const Vector& v = kRfc8032[1];
  std::vector<uint8_t> pk = FromHex(v.public_key);
  std::vector<uint8_t> sig = FromHex(v.signature);
  std::vector<uint8_t> msg = FromHex(v.message);
  EXPECT_EQ(Ed25519Verify(std::span(pk).first(31), msg, sig).code(), Code::kInvalidArgument);
  EXPECT_EQ(Ed25519Verify(pk, msg, std::span(sig).first(63)).code(), Code::kInvalidArgument);
  EXPECT_EQ(Ed25519Verify({}, msg, sig).code(), Code::kInvalidArgument);
  EXPECT_EQ(Ed25519PrivateKey::FromSeed(SecretBytes(31)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Ed25519PrivateKey::FromSeed(SecretBytes(64)).status().code(), Code::kInvalidArgument);
}

TEST(Ed25519Test, GeneratedKeysSignAndDiffer) {
  auto a = Ed25519PrivateKey::Generate();
  auto b = Ed25519PrivateKey::Generate();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->PublicKey(), b->PublicKey());
  std::vector<uint8_t> msg = Bytes("audit record");
  auto sig = a->Sign(msg);
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(Ed25519Verify(a->PublicKey(), msg, *sig).ok());
  EXPECT_EQ(Ed25519Verify(b->PublicKey(), msg, *sig).code(), Code::kCorruption);
}

TEST(Ed25519Test, MovedKeyKeepsSigningAndThreadsShareOneKey) {
  Ed25519PrivateKey key = KeyFromHex(kRfc8032[0].secret);
  Ed25519PrivateKey moved = std::move(key);
  const std::vector<uint8_t> expected = FromHex(kRfc8032[0].signature);
  std::vector<std::thread> threads;
  std::vector<int> good(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto sig = moved.Sign({});
        if (sig.ok() && *sig == expected) ++good[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int g : good) EXPECT_EQ(g, 50);
}

}  // namespace
}  // namespace modelvault::crypto
