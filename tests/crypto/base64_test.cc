// Base64 and Base64Url against RFC 4648 section 10, the URL-safe alphabet, and rejection of
// every input that is not the canonical output of the encoder.
#include "crypto/base64.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/crypto/test_hex.h"

namespace modelvault::crypto {
namespace {

using test::Bytes;

struct Rfc4648Vector {
  const char* plain;
  const char* base64;
  const char* base64url;  // the same without padding
};

// RFC 4648 section 10.
const Rfc4648Vector kRfc4648[] = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
};

TEST(Base64Test, Rfc4648Vectors) {
  for (const auto& v : kRfc4648) {
    SCOPED_TRACE(v.plain);
    EXPECT_EQ(Base64Encode(Bytes(v.plain)), v.base64);
    auto decoded = Base64Decode(v.base64);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, Bytes(v.plain));
  }
}

TEST(Base64UrlTest, Rfc4648VectorsWithoutPadding) {
  for (const auto& v : kRfc4648) {
    SCOPED_TRACE(v.plain);
    EXPECT_EQ(Base64UrlEncode(Bytes(v.plain)), v.base64url);
    auto decoded = Base64UrlDecode(v.base64url);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, Bytes(v.plain));
  }
}

// Bytes fb ff use the last two letters of each alphabet: 62 and 63.
TEST(Base64Test, AlphabetsDifferOnlyInTheLastTwoLetters) {
  const std::vector<uint8_t> bytes = {0xfb, 0xff};
  EXPECT_EQ(Base64Encode(bytes), "+/8=");
  EXPECT_EQ(Base64UrlEncode(bytes), "-_8");
  const std::vector<uint8_t> all_ones = {0xfb, 0xef, 0xbe, 0xff, 0xff, 0xff};
  EXPECT_EQ(Base64Encode(all_ones), "++++////");
  EXPECT_EQ(Base64UrlEncode(all_ones), "----____");
  auto a = Base64Decode("+/8=");
  auto b = Base64UrlDecode("-_8");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, bytes);
  EXPECT_EQ(*b, bytes);
}

TEST(Base64Test, RoundTripsEveryByteAndLength) {
  std::vector<uint8_t> data;
  for (int i = 0; i < 256; ++i) data.push_back(static_cast<uint8_t>(255 - i));
  for (size_t len = 0; len <= data.size(); ++len) {
    std::span<const uint8_t> prefix(data.data(), len);
    std::string std_text = Base64Encode(prefix);
    std::string url_text = Base64UrlEncode(prefix);
    EXPECT_EQ(std_text.size() % 4, 0u);
    EXPECT_EQ(url_text.find_first_of("+/="), std::string::npos);
    auto a = Base64Decode(std_text);
    auto b = Base64UrlDecode(url_text);
    ASSERT_TRUE(a.ok()) << len << " " << std_text;
    ASSERT_TRUE(b.ok()) << len << " " << url_text;
    EXPECT_EQ(*a, std::vector<uint8_t>(prefix.begin(), prefix.end()));
    EXPECT_EQ(*b, std::vector<uint8_t>(prefix.begin(), prefix.end()));
  }
}

TEST(Base64Test, RejectsInvalidAndNonCanonicalInput) {
  const std::string bad[] = {
      "Zg",            // padding missing
      "Zg=",           // length not a multiple of 4
      "Zg===",         //
      "Zh==",          // non-zero bits after the last byte
      "Zm9=",          //
      "====",          // padding only
      "=Zm9",          // padding first
      "Zg==Zg==",      // padding in the middle
      "Zm9v====",      // a block of padding
      "-_8=",          // URL-safe letters
      "Zm 9",          // space inside
      "    ",          // whitespace only
      " Zm9v",         // leading whitespace
      "Zm9v\n",        // trailing newline
      "Zm9v\n\n\n\n",  // whitespace padded to a multiple of 4
      "Zm9v\r\n\r\n",  //
      "Zm9*",          // not in the alphabet
      std::string("Zm9\0", 4),
  };
  for (const std::string& text : bad) {
    auto r = Base64Decode(text);
    EXPECT_EQ(r.status().code(), Code::kCorruption) << '"' << text << '"';
  }
}

TEST(Base64UrlTest, RejectsInvalidAndNonCanonicalInput) {
  const std::string bad[] = {
      "Zg==",    // padding
      "Zm8=",    //
      "+/8",     // standard letters
      "Z",       // a length no encoding has
      "Zm9vY",   //
      "Zh",      // non-zero bits after the last byte
      "Zm9",     //
      "Zm 9",    // space inside
      "Zm9\n",   // trailing newline
      " Zm9v",   // leading space
      "Zm9v\n",  //
      "Zm9*",    // not in the alphabet
      std::string("Zg\0\0", 4),
  };
  for (const std::string& text : bad) {
    auto r = Base64UrlDecode(text);
    EXPECT_EQ(r.status().code(), Code::kCorruption) << '"' << text << '"';
  }
}

}  // namespace
}  // namespace modelvault::crypto
