// NameCodec: plaintext names to backing names and back, long names, classification of
// backing entries, and symlink targets.
#include "volume/name_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/secret_bytes.h"
#include "crypto/base64.h"
#include "volume/volume_keys.h"

namespace modelvault::volume {
namespace {

std::shared_ptr<const VolumeKeys> Keys(uint8_t fill) {
  SecretBytes master(kMasterKeySize);
  for (auto& b : master.span()) b = fill;
  auto keys = VolumeKeys::Derive(master);
  EXPECT_TRUE(keys.ok()) << keys.status().ToString();
  return keys.ok() ? *keys : nullptr;
}

DirId Dir(uint8_t fill) {
  DirId id;
  id.bytes.fill(fill);
  return id;
}

bool IsBase64UrlOnly(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

// Names of many shapes: printable ASCII, dots that are not "." or "..", UTF-8 of every width,
// bytes that are not UTF-8 at all, and the shortest and longest names allowed.
std::vector<std::string> SampleNames() {
  std::vector<std::string> names = {
      "a",
      "A",
      "0",
      "-",
      "_",
      " ",
      "model.safetensors",
      ".hidden",
      "...",
      "....",
      ".L",
      ".mvdir",
      "modelvault.json",
      "name with spaces",
      "tab\there",
      "newline\nhere",
      "ünïcödé",
      "日本語のファイル名",
      "emoji 😀🚀",
      "\x01\x7f\x80\xff",
      "back\\slash",
      std::string(255, 'x'),
      std::string(254, 'y') + ".",
  };
  std::string cjk;
  while (cjk.size() + 3 <= 255) cjk += "語";  // 85 three-byte characters = 255 bytes
  names.push_back(cjk);
  std::string emoji;
  while (emoji.size() + 4 <= 255) emoji += "😀";  // 63 four-byte characters = 252 bytes
  names.push_back(emoji);
  return names;
}

class NameCodecTest : public ::testing::Test {
 protected:
  NameCodecTest() : keys_(Keys(0x21)), codec_(keys_), dir_(Dir(0x01)) {}

  std::shared_ptr<const VolumeKeys> keys_;
  NameCodec codec_;
  DirId dir_;
};

TEST_F(NameCodecTest, RoundTripsManyNames) {
  for (const std::string& name : SampleNames()) {
    SCOPED_TRACE(name);
    auto enc = codec_.Encode(dir_, name);
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    EXPECT_TRUE(IsBase64UrlOnly(enc->sealed)) << enc->sealed;
    EXPECT_LE(enc->backing.size(), kMaxBackingName);
    auto dec = codec_.Decode(dir_, enc->sealed);
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    EXPECT_EQ(*dec, name);
  }
}

TEST_F(NameCodecTest, RoundTripsRandomNamesOfEveryLength) {
  std::mt19937_64 rng(3);
  for (size_t len = 1; len <= kMaxPlainName; ++len) {
    std::string name(len, '\0');
    // Any byte but NUL and '/'.
    for (auto& c : name) {
      do {
        c = static_cast<char>(rng());
      } while (c == '\0' || c == '/');
    }
    if (name == "." || name == "..") continue;
    SCOPED_TRACE(len);
    auto enc = codec_.Encode(dir_, name);
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    auto dec = codec_.Decode(dir_, enc->sealed);
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    ASSERT_EQ(*dec, name);
  }
}

// The sealed name is a 16-byte SIV plus the name, in unpadded base64url: up to 175 bytes it
// fits in 255 characters and is the backing name itself; from 176 on it is hashed.
TEST_F(NameCodecTest, LongNamesAreHashed) {
  for (size_t len = 1; len <= kMaxPlainName; ++len) {
    SCOPED_TRACE(len);
    auto enc = codec_.Encode(dir_, std::string(len, 'n'));
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    EXPECT_EQ(enc->sealed.size(), ((len + 16) * 4 + 2) / 3);
    EXPECT_LE(enc->backing.size(), kMaxBackingName);
    EXPECT_EQ(enc->is_long(), len >= 176);
    if (enc->is_long()) {
      EXPECT_TRUE(enc->backing.starts_with(".L")) << enc->backing;
      EXPECT_EQ(enc->backing.size(), 2u + 43u);  // ".L" + base64url of a SHA-256
      EXPECT_TRUE(IsBase64UrlOnly(enc->backing.substr(2))) << enc->backing;
      EXPECT_EQ(NameCodec::Classify(enc->backing), NameCodec::EntryKind::kLong);
      EXPECT_EQ(NameCodec::Classify(NameCodec::LongNameSidecar(enc->backing)),
                NameCodec::EntryKind::kInternal);
    } else {
      EXPECT_EQ(enc->backing, enc->sealed);
      EXPECT_TRUE(IsBase64UrlOnly(enc->backing)) << enc->backing;
      EXPECT_EQ(NameCodec::Classify(enc->backing), NameCodec::EntryKind::kRegular);
    }
    // Long or not, the sealed form decodes (for a long name it is the sidecar's contents).
    auto dec = codec_.Decode(dir_, enc->sealed);
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    EXPECT_EQ(*dec, std::string(len, 'n'));
  }
}

TEST_F(NameCodecTest, LongNamesAreDeterministicAndDistinct) {
  std::string a(200, 'a'), b(200, 'a');
  b.back() = 'b';
  auto ea1 = codec_.Encode(dir_, a);
  auto ea2 = codec_.Encode(dir_, a);
  auto eb = codec_.Encode(dir_, b);
  auto ea_other = codec_.Encode(Dir(0x02), a);
  ASSERT_TRUE(ea1.ok() && ea2.ok() && eb.ok() && ea_other.ok());
  EXPECT_EQ(ea1->backing, ea2->backing);
  EXPECT_NE(ea1->backing, eb->backing);
  EXPECT_NE(ea1->backing, ea_other->backing);
}

TEST_F(NameCodecTest, RejectsInvalidNames) {
  for (std::string_view bad :
       {std::string_view(""), std::string_view("."), std::string_view(".."), std::string_view("/"),
        std::string_view("a/b"), std::string_view("/a"), std::string_view("a/"),
        std::string_view("a\0b", 3), std::string_view("\0", 1)}) {
    SCOPED_TRACE(std::string(bad));
    auto enc = codec_.Encode(dir_, bad);
    ASSERT_FALSE(enc.ok());
    EXPECT_EQ(enc.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(enc.status().ToErrno(), EINVAL);
  }
}

TEST_F(NameCodecTest, RejectsNamesOver255BytesWithENAMETOOLONG) {
  std::string cjk;
  while (cjk.size() < 256) cjk += "語";  // 258 bytes, 86 characters
  for (const std::string& name : {std::string(256, 'x'), std::string(4096, 'x'), cjk}) {
    auto enc = codec_.Encode(dir_, name);
    ASSERT_FALSE(enc.ok()) << name.size();
    EXPECT_EQ(enc.status().ToErrno(), ENAMETOOLONG) << enc.status().ToString();
  }
}

TEST_F(NameCodecTest, DeterministicPerDirectoryAndDistinctAcrossDirectories) {
  NameCodec same_keys(Keys(0x21));
  NameCodec other_keys(Keys(0x22));
  for (const std::string& name : SampleNames()) {
    SCOPED_TRACE(name);
    auto a1 = codec_.Encode(dir_, name);
    auto a2 = codec_.Encode(dir_, name);
    auto a3 = same_keys.Encode(dir_, name);
    auto b = codec_.Encode(Dir(0x02), name);
    auto c = other_keys.Encode(dir_, name);
    ASSERT_TRUE(a1.ok() && a2.ok() && a3.ok() && b.ok() && c.ok());
    EXPECT_EQ(a1->sealed, a2->sealed);
    EXPECT_EQ(a1->backing, a2->backing);
    EXPECT_EQ(a1->sealed, a3->sealed);
    EXPECT_NE(a1->sealed, b->sealed);
    EXPECT_NE(a1->backing, b->backing);
    EXPECT_NE(a1->sealed, c->sealed);
  }
  // A one-bit difference in the directory ID changes the name.
  DirId near = dir_;
  near.bytes[15] ^= 1;
  auto x = codec_.Encode(dir_, "x");
  auto y = codec_.Encode(near, "x");
  ASSERT_TRUE(x.ok() && y.ok());
  EXPECT_NE(x->sealed, y->sealed);
}

TEST_F(NameCodecTest, DecodeUnderAnotherDirectoryOrKeyIsCorruption) {
  NameCodec other_keys(Keys(0x22));
  DirId near = dir_;
  near.bytes[0] ^= 0x80;
  for (const std::string& name : SampleNames()) {
    SCOPED_TRACE(name);
    auto enc = codec_.Encode(dir_, name);
    ASSERT_TRUE(enc.ok());
    for (const auto& result :
         {codec_.Decode(Dir(0x02), enc->sealed), codec_.Decode(near, enc->sealed),
          other_keys.Decode(dir_, enc->sealed)}) {
      ASSERT_FALSE(result.ok());
      EXPECT_EQ(result.status().code(), Code::kCorruption) << result.status().ToString();
    }
  }
}

// Every single-character change, a cut and an extension of a sealed name are refused.
TEST_F(NameCodecTest, TamperedSealedNameIsCorruption) {
  auto enc = codec_.Encode(dir_, "weights-00001-of-00004.safetensors");
  ASSERT_TRUE(enc.ok());
  const std::string sealed = enc->sealed;
  auto expect_corrupt = [&](const std::string& bad) {
    auto dec = codec_.Decode(dir_, bad);
    ASSERT_FALSE(dec.ok()) << bad;
    EXPECT_EQ(dec.status().code(), Code::kCorruption) << bad << ": " << dec.status().ToString();
  };
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    expect_corrupt(bad);
  }
  expect_corrupt(sealed.substr(0, sealed.size() - 1));
  expect_corrupt(sealed.substr(0, sealed.size() - 4));
  expect_corrupt(sealed.substr(1));
  expect_corrupt(sealed + "A");
  expect_corrupt(sealed + "AAAA");
  expect_corrupt(sealed + "=");
  expect_corrupt(sealed.substr(0, 10) + "." + sealed.substr(11));
  expect_corrupt(sealed.substr(0, 10) + "+" + sealed.substr(11));
  for (const char* junk : {"", "A", "AA", "AAAA", "AAAAAAAAAAAAAAAAAAAAAA", "!!!!", ".mvdir"}) {
    expect_corrupt(junk);
  }
}

// A name that authenticates but would be unsafe to hand to the kernel is still refused: the
// check on the decode side does not trust the encoder.
TEST_F(NameCodecTest, DecodeRefusesAuthenticUnsafeNames) {
  for (std::string_view unsafe : {std::string_view("."), std::string_view(".."),
                                  std::string_view("a/b"), std::string_view("a\0b", 3)}) {
    SCOPED_TRACE(std::string(unsafe));
    auto raw = keys_->names().Encrypt(
        {dir_.span()}, {reinterpret_cast<const uint8_t*>(unsafe.data()), unsafe.size()});
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    auto dec = codec_.Decode(dir_, crypto::Base64UrlEncode(*raw));
    ASSERT_FALSE(dec.ok());
    EXPECT_EQ(dec.status().code(), Code::kCorruption);
  }
}

TEST(NameCodecClassifyTest, Kinds) {
  using Kind = NameCodec::EntryKind;
  EXPECT_EQ(NameCodec::Classify("abcDEF012-_"), Kind::kRegular);
  EXPECT_EQ(NameCodec::Classify("x"), Kind::kRegular);
  EXPECT_EQ(NameCodec::Classify(".LAbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde"), Kind::kLong);
  EXPECT_EQ(NameCodec::Classify(".Labc"), Kind::kLong);
  EXPECT_EQ(NameCodec::Classify(".Labc.name"), Kind::kInternal);
  EXPECT_EQ(NameCodec::LongNameSidecar(".Labc"), ".Labc.name");
  EXPECT_EQ(NameCodec::Classify(NameCodec::LongNameSidecar(".Labc")), Kind::kInternal);
  EXPECT_EQ(NameCodec::Classify(kDirIdFile), Kind::kInternal);
  EXPECT_EQ(NameCodec::Classify(".mvdir"), Kind::kInternal);
  EXPECT_EQ(NameCodec::Classify("modelvault.json"), Kind::kInternal);
  EXPECT_EQ(NameCodec::Classify("modelvault.lock"), Kind::kInternal);
  EXPECT_EQ(NameCodec::Classify(".tmp.123"), Kind::kInternal);
  EXPECT_EQ(NameCodec::Classify("."), Kind::kInternal);
  EXPECT_EQ(NameCodec::Classify(".."), Kind::kInternal);
  EXPECT_EQ(NameCodec::Classify(".lowercase"), Kind::kInternal);
}

TEST_F(NameCodecTest, EncodedNamesAreNeverInternal) {
  for (const std::string& name : SampleNames()) {
    auto enc = codec_.Encode(dir_, name);
    ASSERT_TRUE(enc.ok());
    EXPECT_NE(NameCodec::Classify(enc->backing), NameCodec::EntryKind::kInternal) << name;
    EXPECT_EQ(enc->backing.find('.') == std::string::npos, !enc->is_long()) << name;
  }
}

TEST_F(NameCodecTest, SymlinkTargetsRoundTrip) {
  std::string long_target;
  while (long_target.size() < 4000) long_target += "../some/dir/";
  long_target.resize(4000);
  std::string max_target(4095, 'p');
  for (const std::string& target :
       {std::string("a"), std::string("/"), std::string("../models/llama/config.json"),
        std::string("/absolute/path with spaces/ü"), std::string("x\x01\xff"), long_target,
        max_target}) {
    SCOPED_TRACE(target.size());
    auto enc = codec_.EncodeLinkTarget(target);
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    EXPECT_TRUE(IsBase64UrlOnly(*enc));
    auto again = codec_.EncodeLinkTarget(target);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*enc, *again);
    auto dec = codec_.DecodeLinkTarget(*enc);
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    EXPECT_EQ(*dec, target);
  }
}

// Link targets are bound to their own label, so a sealed name cannot pose as a target or the
// other way round, and a changed target is refused.
TEST_F(NameCodecTest, SymlinkTargetsAreSeparateFromNamesAndAuthenticated) {
  auto target = codec_.EncodeLinkTarget("model.bin");
  auto name = codec_.Encode(dir_, "model.bin");
  ASSERT_TRUE(target.ok() && name.ok());
  EXPECT_NE(*target, name->sealed);
  auto as_name = codec_.Decode(dir_, *target);
  ASSERT_FALSE(as_name.ok());
  EXPECT_EQ(as_name.status().code(), Code::kCorruption);
  auto as_target = codec_.DecodeLinkTarget(name->sealed);
  ASSERT_FALSE(as_target.ok());
  EXPECT_EQ(as_target.status().code(), Code::kCorruption);

  std::string bad = *target;
  bad[bad.size() / 2] = bad[bad.size() / 2] == 'A' ? 'B' : 'A';
  auto dec = codec_.DecodeLinkTarget(bad);
  ASSERT_FALSE(dec.ok());
  EXPECT_EQ(dec.status().code(), Code::kCorruption);
  auto wrong_key = NameCodec(Keys(0x22)).DecodeLinkTarget(*target);
  ASSERT_FALSE(wrong_key.ok());
  EXPECT_EQ(wrong_key.status().code(), Code::kCorruption);
  // symlink(2) refuses an empty target; the codec refuses to seal one rather than crash.
  EXPECT_FALSE(codec_.EncodeLinkTarget("").ok());
}

TEST_F(NameCodecTest, ConcurrentUseGivesTheSameResults) {
  auto names = SampleNames();
  std::vector<std::string> want;
  for (const auto& n : names) {
    auto enc = codec_.Encode(dir_, n);
    ASSERT_TRUE(enc.ok());
    want.push_back(enc->backing);
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (size_t i = 0; i < names.size(); ++i) {
          auto enc = codec_.Encode(dir_, names[i]);
          if (!enc.ok() || enc->backing != want[i]) ++mismatches[t];
          auto dec = codec_.Decode(dir_, enc.ok() ? enc->sealed : "");
          if (!dec.ok() || *dec != names[i]) ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace modelvault::volume
