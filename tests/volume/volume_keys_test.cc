#include "volume/volume_keys.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "crypto/hex.h"
#include "crypto/kdf.h"
#include "tests/volume/golden.h"

namespace modelvault::volume {
namespace {

FileId GoldenFileId() {
  FileId id;
  SecretBytes bytes = golden::Counting(id.bytes.size(), golden::kFileIdFirst);
  std::copy(bytes.data(), bytes.data() + bytes.size(), id.bytes.begin());
  return id;
}

std::vector<uint8_t> Unhex(const char* hex) {
  auto bytes = crypto::HexDecode(hex);
  EXPECT_TRUE(bytes.ok());
  return *bytes;
}

// The ciphers expose no key, so each is compared by what it produces from the same input.
std::vector<uint8_t> GcmOutput(const crypto::AesGcm& gcm) {
  const std::array<uint8_t, 12> nonce{};
  const std::string plain = "modelvault";
  std::vector<uint8_t> out(plain.size() + 16);
  EXPECT_TRUE(gcm.Seal(std::span(out).first(plain.size()), std::span(out).subspan(plain.size()),
                       nonce, {}, crypto::AsBytes(plain))
                  .ok());
  return out;
}

class VolumeKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto keys = VolumeKeys::Derive(golden::MasterKey());
    ASSERT_TRUE(keys.ok()) << keys.status().ToString();
    keys_ = *keys;
  }
  std::shared_ptr<const VolumeKeys> keys_;
};

TEST_F(VolumeKeysTest, HeaderMacKeyMatchesGoldenValue) {
  auto mac = keys_->HeaderMac(crypto::AsBytes("body"));
  auto expected = crypto::HmacSha256(Unhex(golden::kHeaderMacKey), crypto::AsBytes("body"));
  ASSERT_TRUE(mac.ok() && expected.ok());
  EXPECT_EQ(*mac, *expected);
}

TEST_F(VolumeKeysTest, NameKeyMatchesGoldenValue) {
  auto expected = crypto::AesSiv::New(Unhex(golden::kNamesKey));
  ASSERT_TRUE(expected.ok());
  auto ad = crypto::AsBytes("dir");
  auto ours = keys_->names().Encrypt({ad}, crypto::AsBytes("model.safetensors"));
  auto theirs = expected->Encrypt({ad}, crypto::AsBytes("model.safetensors"));
  ASSERT_TRUE(ours.ok() && theirs.ok());
  EXPECT_EQ(*ours, *theirs);
}

TEST_F(VolumeKeysTest, XattrKeyMatchesGoldenValue) {
  auto expected = crypto::AesGcm::New(Unhex(golden::kXattrKey));
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(GcmOutput(keys_->xattrs()), GcmOutput(*expected));
}

TEST_F(VolumeKeysTest, ContentKeyMatchesGoldenValueAndDependsOnFileId) {
  auto expected = crypto::AesGcm::New(Unhex(golden::kContentKey));
  auto ours = keys_->ContentCipher(GoldenFileId());
  ASSERT_TRUE(expected.ok() && ours.ok());
  EXPECT_EQ(GcmOutput(*ours), GcmOutput(*expected));
  FileId other = GoldenFileId();
  other.bytes[15] ^= 1;
  auto other_cipher = keys_->ContentCipher(other);
  ASSERT_TRUE(other_cipher.ok());
  EXPECT_NE(GcmOutput(*other_cipher), GcmOutput(*expected));
}

TEST(VolumeKeysDeriveTest, RefusesMasterKeysOfTheWrongSize) {
  EXPECT_EQ(VolumeKeys::Derive(SecretBytes(31)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(VolumeKeys::Derive(SecretBytes(33)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(VolumeKeys::Derive(SecretBytes()).status().code(), Code::kInvalidArgument);
}

TEST(HexTest, EncodesLowercaseAndDecodesOnlyThat) {
  std::vector<uint8_t> bytes = {0x00, 0xab, 0xff, 0x10};
  EXPECT_EQ(crypto::HexEncode(bytes), "00abff10");
  EXPECT_EQ(crypto::HexEncode({}), "");
  EXPECT_EQ(*crypto::HexDecode("00abff10"), bytes);
  EXPECT_TRUE(crypto::HexDecode("")->empty());
  EXPECT_FALSE(crypto::HexDecode("00ABFF10").ok());
  EXPECT_FALSE(crypto::HexDecode("abc").ok());
  EXPECT_FALSE(crypto::HexDecode("zz").ok());
  EXPECT_FALSE(crypto::HexDecode(std::string("a\0", 2)).ok());
}

}  // namespace
}  // namespace modelvault::volume
