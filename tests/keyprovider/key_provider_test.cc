// The KeyProvider conformance suite: every provider runs through the same cases.
#include "keyprovider/key_provider.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "crypto/base64.h"
#include "tests/volume/golden.h"

namespace modelvault::keyprovider {
namespace {

using nlohmann::json;

using golden::Filled;
using golden::Text;

struct KeyfileCase {
  static constexpr const char* kType = "keyfile";
  static std::unique_ptr<KeyProvider> Right() { return NewKeyfileProvider(Filled(32, 0x42)); }
  static std::unique_ptr<KeyProvider> Wrong() { return NewKeyfileProvider(Filled(32, 0x43)); }
};

struct PassphraseCase {
  static constexpr const char* kType = "passphrase";
  // Small scrypt parameters keep the suite fast; the format is the same.
  static constexpr crypto::ScryptParams kParams{1024, 8, 1};
  static std::unique_ptr<KeyProvider> Right() {
    return NewPassphraseProvider(Text("correct horse"), kParams);
  }
  static std::unique_ptr<KeyProvider> Wrong() {
    return NewPassphraseProvider(Text("correct horsf"), kParams);
  }
};

template <class Case>
class KeyProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (size_t i = 0; i < 16; ++i) volume_id_.bytes[i] = static_cast<uint8_t>(i + 1);
    master_key_ = Filled(32, 0x5a);
    master_key_.data()[31] = 0x01;
    auto slot = Case::Right()->Enrol(master_key_, volume_id_, 3);
    ASSERT_TRUE(slot.ok()) << slot.status().ToString();
    slot_ = *slot;
  }
  Result<SecretBytes> UnlockWith(const json& slot) {
    return Case::Right()->Unlock(slot, volume_id_);
  }

  volume::VolumeId volume_id_;
  SecretBytes master_key_;
  json slot_;
};

using Providers = ::testing::Types<KeyfileCase, PassphraseCase>;
TYPED_TEST_SUITE(KeyProviderTest, Providers);

TYPED_TEST(KeyProviderTest, EnrolThenUnlockGivesTheMasterKey) {
  EXPECT_EQ(TypeParam::Right()->Type(), TypeParam::kType);
  EXPECT_EQ(this->slot_["id"], 3);
  EXPECT_EQ(this->slot_["type"], TypeParam::kType);
  EXPECT_TRUE(this->slot_["created"].is_string());
  EXPECT_TRUE(this->slot_["kdf"].is_string());
  EXPECT_TRUE(this->slot_["nonce"].is_string());
  EXPECT_TRUE(this->slot_["wrapped_key"].is_string());
  auto key = this->UnlockWith(this->slot_);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(key->Equals(this->master_key_));
}

TYPED_TEST(KeyProviderTest, SlotSurvivesTheTripThroughTheHeaderFile) {
  json reread = json::parse(this->slot_.dump(2));
  auto key = this->UnlockWith(reread);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(key->Equals(this->master_key_));
}

TYPED_TEST(KeyProviderTest, WrongSecretIsPermissionDenied) {
  auto key = TypeParam::Wrong()->Unlock(this->slot_, this->volume_id_);
  EXPECT_EQ(key.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(key.status().message(), "the key does not open keyslot 3");
}

TYPED_TEST(KeyProviderTest, SlotOfAnotherVolumeDoesNotOpen) {
  volume::VolumeId other = this->volume_id_;
  other.bytes[0] ^= 1;
  EXPECT_EQ(TypeParam::Right()->Unlock(this->slot_, other).status().code(),
            Code::kPermissionDenied);
}

TYPED_TEST(KeyProviderTest, EveryEditedFieldIsRefused) {
  const std::vector<std::pair<const char*, std::function<void(json&)>>> edits = {
      {"salt", [](json& s) { s["salt"] = crypto::Base64Encode(std::vector<uint8_t>(16, 9)); }},
      {"nonce", [](json& s) { s["nonce"] = crypto::Base64Encode(std::vector<uint8_t>(12, 9)); }},
      {"created", [](json& s) { s["created"] = "2020-01-01T00:00:00Z"; }},
      {"id", [](json& s) { s["id"] = 4; }},
      {"added field", [](json& s) { s["comment"] = "ops"; }},
      {"removed field", [](json& s) { s.erase("created"); }},
      {"wrapped_key",
       [](json& s) {
         auto bytes = *crypto::Base64Decode(s["wrapped_key"].get<std::string>());
         bytes[0] ^= 1;
         s["wrapped_key"] = crypto::Base64Encode(bytes);
       }},
  };
  for (const auto& [name, edit] : edits) {
    json slot = this->slot_;
    edit(slot);
    auto key = this->UnlockWith(slot);
    EXPECT_EQ(key.status().code(), Code::kPermissionDenied) << name;
  }
}

TYPED_TEST(KeyProviderTest, MalformedEnvelopeIsCorruption) {
  const std::vector<std::pair<const char*, std::function<void(json&)>>> edits = {
      {"nonce not base64", [](json& s) { s["nonce"] = "!!!!"; }},
      {"short nonce", [](json& s) { s["nonce"] = crypto::Base64Encode(std::vector<uint8_t>(8)); }},
      {"no wrapped_key", [](json& s) { s.erase("wrapped_key"); }},
      {"short wrapped_key", [](json& s) { s["wrapped_key"] = "AAAA"; }},
      {"salt a number", [](json& s) { s["salt"] = 5; }},
  };
  for (const auto& [name, edit] : edits) {
    json slot = this->slot_;
    edit(slot);
    auto key = this->UnlockWith(slot);
    EXPECT_EQ(key.status().code(), Code::kCorruption) << name;
    EXPECT_EQ(key.status().message().rfind("keyslot 3: ", 0), 0u) << key.status().message();
  }
}

TYPED_TEST(KeyProviderTest, SlotOfAnotherTypeOrKdfIsRefused) {
  json slot = this->slot_;
  slot["type"] = "tpm2";
  EXPECT_EQ(this->UnlockWith(slot).status().code(), Code::kInvalidArgument);
  slot = this->slot_;
  slot["kdf"] = "argon2id";
  EXPECT_EQ(this->UnlockWith(slot).status().code(), Code::kUnsupported);
}

TYPED_TEST(KeyProviderTest, EachEnrolmentIsFresh) {
  auto again = TypeParam::Right()->Enrol(this->master_key_, this->volume_id_, 3);
  ASSERT_TRUE(again.ok());
  EXPECT_NE((*again)["salt"], this->slot_["salt"]);
  EXPECT_NE((*again)["nonce"], this->slot_["nonce"]);
  EXPECT_NE((*again)["wrapped_key"], this->slot_["wrapped_key"]);
}

TYPED_TEST(KeyProviderTest, EnrolRefusesAMasterKeyOfTheWrongSize) {
  EXPECT_EQ(TypeParam::Right()->Enrol(Filled(16, 1), this->volume_id_, 0).status().code(),
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace modelvault::keyprovider
