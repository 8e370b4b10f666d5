// The KeyProvider conformance suite: every provider runs through the same cases.
#include "keyprovider/key_provider.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "crypto/base64.h"
#include "tests/keyprovider/pkcs11/pkcs11_case.h"
#include "tests/keyprovider/tpm2/tpm2_case.h"
#include "tests/volume/golden.h"

namespace modelvault::keyprovider {
namespace {

using nlohmann::json;

using golden::Filled;
using golden::Text;

// Each case names its provider's slot type and the field that holds the slot's random salt
// (nullptr if it has none).
struct KeyfileCase {
  static constexpr const char* kType = "keyfile";
  static constexpr const char* kSaltField = "salt";
  static std::unique_ptr<KeyProvider> Right() { return NewKeyfileProvider(Filled(32, 0x42)); }
  static std::unique_ptr<KeyProvider> Wrong() { return NewKeyfileProvider(Filled(32, 0x43)); }
};

struct RecoveryCase {
  static constexpr const char* kType = "recovery";
  static constexpr const char* kSaltField = "salt";
  static std::unique_ptr<KeyProvider> Right() { return NewRecoveryKeyProvider(Filled(32, 0x42)); }
  static std::unique_ptr<KeyProvider> Wrong() { return NewRecoveryKeyProvider(Filled(32, 0x43)); }
};

struct PassphraseCase {
  static constexpr const char* kType = "passphrase";
  static constexpr const char* kSaltField = "salt";
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

// A tpm2 slot with a PIN, on a swtpm shared by the process.
struct Tpm2PinCase : Tpm2Case {
  static constexpr const char* kSaltField = "pin_salt";
};

// A pkcs11 slot wrapped by an AES key in SoftHSM2; it has no salt, but its wrapped KEK is
// fresh for every slot.
struct Pkcs11AesCase : Pkcs11Case {
  static constexpr const char* kSaltField = kRandomField;
};

using Providers =
    ::testing::Types<KeyfileCase, RecoveryCase, PassphraseCase, Tpm2PinCase, Pkcs11AesCase>;
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
  // Hardware says more (a wrong PIN, with tries left); every message names the slot.
  EXPECT_NE(key.status().message().find("keyslot 3"), std::string::npos) << key.status().message();
}

TYPED_TEST(KeyProviderTest, SlotOfAnotherVolumeDoesNotOpen) {
  volume::VolumeId other = this->volume_id_;
  other.bytes[0] ^= 1;
  EXPECT_EQ(TypeParam::Right()->Unlock(this->slot_, other).status().code(),
            Code::kPermissionDenied);
}

TYPED_TEST(KeyProviderTest, EveryEditedFieldIsRefused) {
  const std::vector<std::pair<const char*, std::function<void(json&)>>> edits = {
      {"salt",
       [](json& s) {
         // Same length, one bit different: still well-formed, no longer the enrolled value.
         if (TypeParam::kSaltField == nullptr) return;
         auto bytes = *crypto::Base64Decode(s[TypeParam::kSaltField].template get<std::string>());
         bytes[0] ^= 1;
         s[TypeParam::kSaltField] = crypto::Base64Encode(bytes);
       }},
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
  };
  std::vector<std::pair<const char*, std::function<void(json&)>>> all = edits;
  if (TypeParam::kSaltField != nullptr) {
    all.push_back({"salt a number", [](json& s) { s[TypeParam::kSaltField] = 5; }});
  }
  for (const auto& [name, edit] : all) {
    json slot = this->slot_;
    edit(slot);
    auto key = this->UnlockWith(slot);
    EXPECT_EQ(key.status().code(), Code::kCorruption) << name;
    EXPECT_EQ(key.status().message().rfind("keyslot 3: ", 0), 0u) << key.status().message();
  }
}

TYPED_TEST(KeyProviderTest, SlotOfAnotherTypeOrKdfIsRefused) {
  json slot = this->slot_;
  slot["type"] = std::string(TypeParam::kType) == "keyfile" ? "passphrase" : "keyfile";
  EXPECT_EQ(this->UnlockWith(slot).status().code(), Code::kInvalidArgument);
  slot = this->slot_;
  slot["kdf"] = "argon2id";
  EXPECT_EQ(this->UnlockWith(slot).status().code(), Code::kUnsupported);
}

TYPED_TEST(KeyProviderTest, EachEnrolmentIsFresh) {
  auto again = TypeParam::Right()->Enrol(this->master_key_, this->volume_id_, 3);
  ASSERT_TRUE(again.ok());
  if (TypeParam::kSaltField != nullptr) {
    EXPECT_NE((*again)[TypeParam::kSaltField], this->slot_[TypeParam::kSaltField]);
  }
  EXPECT_NE((*again)["nonce"], this->slot_["nonce"]);
  EXPECT_NE((*again)["wrapped_key"], this->slot_["wrapped_key"]);
}

TYPED_TEST(KeyProviderTest, EnrolRefusesAMasterKeyOfTheWrongSize) {
  EXPECT_EQ(TypeParam::Right()->Enrol(Filled(16, 1), this->volume_id_, 0).status().code(),
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace modelvault::keyprovider
