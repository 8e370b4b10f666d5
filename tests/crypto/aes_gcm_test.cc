// AesGcm against the AES-256 test cases of the GCM specification, and its failure paths:
// any flipped bit is Corruption with the output wiped, bad sizes are InvalidArgument.
#include "crypto/aes_gcm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "tests/crypto/test_hex.h"

namespace modelvault::crypto {
namespace {

using test::FromHex;
using test::ToHex;

// D. McGrew and J. Viega, "The Galois/Counter Mode of Operation (GCM)", revised 2005,
// appendix B, test cases 13-16 (256-bit key, 96-bit IV). The same vectors appear in NIST's
// GCM submission; case 16 is the one with additional authenticated data.
struct GcmVector {
  const char* name;
  const char* key;
  const char* iv;
  const char* plain;
  const char* aad;
  const char* cipher;
  const char* tag;
};

constexpr char kZeroKey[] = "00000000000000000000000000000000 00000000000000000000000000000000";
constexpr char kKey15[] = "feffe9928665731c6d6a8f9467308308 feffe9928665731c6d6a8f9467308308";

const GcmVector kGcmVectors[] = {
    {"TestCase13", kZeroKey, "000000000000000000000000", "", "", "",
     "530f8afbc74536b9a963b4f1c4cb738b"},
    {"TestCase14", kZeroKey, "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"TestCase15", kKey15, "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a 86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525 b16aedf5aa0de657ba637b391aafd255",
     "",
     "522dc1f099567d07f47f37a32a84427d 643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838 c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"TestCase16", kKey15, "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a 86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525 b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeef abaddad2",
     "522dc1f099567d07f47f37a32a84427d 643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838 c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

void PrintTo(const GcmVector& v, std::ostream* os) { *os << v.name; }

class GcmKnownAnswerTest : public ::testing::TestWithParam<GcmVector> {};

TEST_P(GcmKnownAnswerTest, SealMatchesPublishedCiphertextAndTag) {
  const GcmVector& v = GetParam();
  auto gcm = AesGcm::New(FromHex(v.key));
  ASSERT_TRUE(gcm.ok()) << gcm.status().ToString();
  std::vector<uint8_t> plain = FromHex(v.plain);
  std::vector<uint8_t> cipher(plain.size());
  std::vector<uint8_t> tag(AesGcm::kTagSize);
  ASSERT_TRUE(gcm->Seal(cipher, tag, FromHex(v.iv), FromHex(v.aad), plain).ok());
  EXPECT_EQ(ToHex(cipher), ToHex(FromHex(v.cipher)));
  EXPECT_EQ(ToHex(tag), ToHex(FromHex(v.tag)));
}

TEST_P(GcmKnownAnswerTest, OpenRecoversPublishedPlaintext) {
  const GcmVector& v = GetParam();
  auto gcm = AesGcm::New(FromHex(v.key));
  ASSERT_TRUE(gcm.ok()) << gcm.status().ToString();
  std::vector<uint8_t> cipher = FromHex(v.cipher);
  std::vector<uint8_t> plain(cipher.size());
  Status st = gcm->Open(plain, FromHex(v.iv), FromHex(v.aad), cipher, FromHex(v.tag));
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(ToHex(plain), ToHex(FromHex(v.plain)));
}

INSTANTIATE_TEST_SUITE_P(McGrewViega, GcmKnownAnswerTest, ::testing::ValuesIn(kGcmVectors),
                         [](const ::testing::TestParamInfo<GcmVector>& info) {
                           return std::string(info.param.name);
                         });

// Test case 16 as separate mutable buffers, for the tampering tests.
struct Case16 {
  std::vector<uint8_t> key = FromHex(kGcmVectors[3].key);
  std::vector<uint8_t> nonce = FromHex(kGcmVectors[3].iv);
  std::vector<uint8_t> aad = FromHex(kGcmVectors[3].aad);
  std::vector<uint8_t> cipher = FromHex(kGcmVectors[3].cipher);
  std::vector<uint8_t> tag = FromHex(kGcmVectors[3].tag);
};

bool AllZero(const std::vector<uint8_t>& v) {
  return std::all_of(v.begin(), v.end(), [](uint8_t b) { return b == 0; });
}

// Opens `c` into a buffer pre-filled with garbage and checks that the call fails with
// Corruption and leaves every byte of the buffer zero.
void ExpectCorruptionAndWiped(const AesGcm& gcm, const Case16& c, const std::string& what) {
  std::vector<uint8_t> out(c.cipher.size(), 0xa5);
  Status st = gcm.Open(out, c.nonce, c.aad, c.cipher, c.tag);
  EXPECT_EQ(st.code(), Code::kCorruption) << what << ": " << st.ToString();
  EXPECT_TRUE(AllZero(out)) << what << ": output not wiped";
}

// Calls `check` once for every single-bit flip of `field` within a copy of `base`.
template <class Check>
void ForEachBitFlip(const Case16& base, std::vector<uint8_t> Case16::*field, Check check) {
  for (size_t bit = 0; bit < (base.*field).size() * 8; ++bit) {
    Case16 c = base;
    (c.*field)[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    check(c, bit);
  }
}

TEST(AesGcmTest, EveryFlippedBitIsCorruptionAndWipesOutput) {
  const Case16 base;
  auto gcm = AesGcm::New(base.key);
  ASSERT_TRUE(gcm.ok());
  const std::pair<const char*, std::vector<uint8_t> Case16::*> fields[] = {
      {"cipher", &Case16::cipher},
      {"tag", &Case16::tag},
      {"nonce", &Case16::nonce},
      {"aad", &Case16::aad},
  };
  for (const auto& field : fields) {
    const std::string name = field.first;  // clang 14 cannot capture structured bindings
    ForEachBitFlip(base, field.second, [&](const Case16& c, size_t bit) {
      ExpectCorruptionAndWiped(*gcm, c, name + " bit " + std::to_string(bit));
    });
  }
}

TEST(AesGcmTest, DroppedOrAddedAadIsCorruption) {
  Case16 c;
  auto gcm = AesGcm::New(c.key);
  ASSERT_TRUE(gcm.ok());
  c.aad.clear();
  ExpectCorruptionAndWiped(*gcm, c, "aad dropped");
  c = Case16();
  c.aad.push_back(0);
  ExpectCorruptionAndWiped(*gcm, c, "aad extended");
}

TEST(AesGcmTest, WrongKeyIsCorruption) {
  Case16 c;
  c.key[31] ^= 1;
  auto gcm = AesGcm::New(c.key);
  ASSERT_TRUE(gcm.ok());
  ExpectCorruptionAndWiped(*gcm, c, "wrong key");
}

TEST(AesGcmTest, RejectsBadKeySize) {
  for (size_t size : {0, 16, 24, 31, 33, 64}) {
    auto gcm = AesGcm::New(std::vector<uint8_t>(size));
    EXPECT_EQ(gcm.status().code(), Code::kInvalidArgument) << size;
  }
}

TEST(AesGcmTest, RejectsBadBufferSizes) {
  auto gcm = AesGcm::New(std::vector<uint8_t>(AesGcm::kKeySize));
  ASSERT_TRUE(gcm.ok());
  std::vector<uint8_t> nonce(AesGcm::kNonceSize), tag(AesGcm::kTagSize), buf(8), other(8);
  std::vector<uint8_t> short_nonce(11), long_nonce(16), short_tag(12), bigger(9);
  EXPECT_EQ(gcm->Seal(buf, tag, short_nonce, {}, other).code(), Code::kInvalidArgument);
  EXPECT_EQ(gcm->Seal(buf, tag, long_nonce, {}, other).code(), Code::kInvalidArgument);
  EXPECT_EQ(gcm->Seal(buf, short_tag, nonce, {}, other).code(), Code::kInvalidArgument);
  EXPECT_EQ(gcm->Seal(bigger, tag, nonce, {}, other).code(), Code::kInvalidArgument);
  EXPECT_EQ(gcm->Open(buf, short_nonce, {}, other, tag).code(), Code::kInvalidArgument);
  EXPECT_EQ(gcm->Open(buf, nonce, {}, other, short_tag).code(), Code::kInvalidArgument);
  EXPECT_EQ(gcm->Open(bigger, nonce, {}, other, tag).code(), Code::kInvalidArgument);
}

TEST(AesGcmTest, RoundTripWithAadAndEmptyPlaintext) {
  auto gcm = AesGcm::New(FromHex(kKey15));
  ASSERT_TRUE(gcm.ok());
  const std::vector<uint8_t> nonce = FromHex("000102030405060708090a0b");
  const std::vector<uint8_t> aad = test::Bytes("header");
  std::vector<uint8_t> tag(AesGcm::kTagSize);
  ASSERT_TRUE(gcm->Seal({}, tag, nonce, aad, {}).ok());
  EXPECT_TRUE(gcm->Open({}, nonce, aad, {}, tag).ok());
  tag[0] ^= 0x80;
  EXPECT_EQ(gcm->Open({}, nonce, aad, {}, tag).code(), Code::kCorruption);
}

TEST(AesGcmTest, CopiesShareTheKeyAndOutliveTheOriginal) {
  std::vector<uint8_t> key = FromHex(kKey15);
  auto gcm = AesGcm::New(key);
  ASSERT_TRUE(gcm.ok());
  AesGcm copy = *gcm;
  std::fill(key.begin(), key.end(), 0);  // New() took its own copy of the key.
  gcm = Status::Internal("drop the original");
  Case16 c;
  std::vector<uint8_t> plain(c.cipher.size());
  ASSERT_TRUE(copy.Open(plain, c.nonce, c.aad, c.cipher, c.tag).ok());
  EXPECT_EQ(ToHex(plain), ToHex(FromHex(kGcmVectors[3].plain)));
}

// The per-thread cipher contexts must not leak state between threads or between a failed
// Open and the next call.
TEST(AesGcmTest, ConcurrentSealAndOpenFromManyThreads) {
  const Case16 base;
  auto gcm = AesGcm::New(base.key);
  ASSERT_TRUE(gcm.ok());
  const std::vector<uint8_t> want = FromHex(kGcmVectors[3].plain);
  std::vector<int> failures(8, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < failures.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::vector<uint8_t> plain(base.cipher.size());
        if (!gcm->Open(plain, base.nonce, base.aad, base.cipher, base.tag).ok() || plain != want) {
          ++failures[t];
        }
        Case16 bad = base;
        bad.tag[i % AesGcm::kTagSize] ^= 1;
        if (gcm->Open(plain, bad.nonce, bad.aad, bad.cipher, bad.tag).code() != Code::kCorruption) {
          ++failures[t];
        }
        std::vector<uint8_t> cipher(want.size()), tag(AesGcm::kTagSize);
        if (!gcm->Seal(cipher, tag, base.nonce, base.aad, want).ok() || cipher != base.cipher ||
            tag != base.tag) {
          ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (size_t t = 0; t < failures.size(); ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace modelvault::crypto
