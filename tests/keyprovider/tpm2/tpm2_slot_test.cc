// Edited and malformed tpm2 slots are refused, and no unlock, failed or not, leaves a
// transient object or session loaded in the TPM.
#include <gtest/gtest.h>

#include <functional>

#include "crypto/base64.h"
#include "tests/keyprovider/tpm2/tpm2_test_util.h"

namespace modelvault::keyprovider::test {
namespace {

using nlohmann::json;
using Edit = std::pair<const char*, std::function<void(json&)>>;

void FlipBase64Byte(json& slot, const char* field, size_t from_end) {
  auto bytes = *crypto::Base64Decode(slot[field].get<std::string>());
  bytes[bytes.size() - 1 - from_end] ^= 1;
  slot[field] = crypto::Base64Encode(bytes);
}

// Slots bound to PCR 16 and a PIN, so that every field matters.
class Tpm2SlotTest : public Tpm2Test {
 protected:
  void SetUp() override {
    Tpm2Test::SetUp();
    slot_ = Enrol("1234", {16});
  }
  json slot_;
};

TEST_F(Tpm2SlotTest, EveryEditedFieldIsRefused) {
  const std::string zeros(64, '0');
  const std::vector<Edit> edits = {
      {"pcrs", [](json& s) { s["pcrs"] = json::array({15}); }},
      {"pcrs and pcr_values",
       [&](json& s) {
         s["pcrs"] = json::array({15});
         s["pcr_values"] = json{{"15", zeros}};
       }},
      {"pcrs emptied",
       [](json& s) {
         s["pcrs"] = json::array();
         s["pcr_values"] = json::object();
       }},
      {"pin false",
       [](json& s) {
         s["pin"] = false;
         s.erase("pin_salt");
       }},
      {"pin_salt", [](json& s) { FlipBase64Byte(s, "pin_salt", 0); }},
      {"pcr_values", [&](json& s) { s["pcr_values"]["16"] = std::string(64, 'a'); }},
      {"sealed_public size field", [](json& s) { FlipBase64Byte(s, "sealed_public", 0); }},
      {"sealed_public authPolicy", [](json& s) { FlipBase64Byte(s, "sealed_public", 40); }},
      {"sealed_private", [](json& s) { FlipBase64Byte(s, "sealed_private", 20); }},
      {"wrapped_key", [](json& s) { FlipBase64Byte(s, "wrapped_key", 0); }},
      {"nonce", [](json& s) { FlipBase64Byte(s, "nonce", 0); }},
      {"tcti", [](json& s) { s["tcti"] = "device:/dev/tpmrm0"; }},
      {"parent_name", [](json& s) { s["parent_name"] = std::string(68, 'b'); }},
      {"created", [](json& s) { s["created"] = "2020-01-01T00:00:00Z"; }},
      {"added field", [](json& s) { s["comment"] = "ops"; }},
  };
  for (const auto& [name, edit] : edits) {
    json slot = slot_;
    edit(slot);
    // The provider knows the TCTI, so an edited "tcti" reaches the TPM and the envelope.
    auto key = Provider("1234")->Unlock(slot, volume_id_);
    ASSERT_FALSE(key.ok()) << name;
    EXPECT_TRUE(key.status().code() == Code::kPermissionDenied ||
                key.status().code() == Code::kCorruption)
        << name << ": " << key.status().ToString();
  }
  ExpectNothingLoaded();
}

TEST_F(Tpm2SlotTest, EditedBindingsSayWhy) {
  json slot = slot_;
  slot["pin"] = false;
  slot.erase("pin_salt");
  EXPECT_EQ(Unlock(slot).status().message(),
            "keyslot 0: the slot's PCR/PIN binding does not match its sealed object (the slot "
            "was edited)");
  slot = slot_;
  slot["parent_name"] = std::string(68, 'b');
  EXPECT_EQ(Unlock(slot, "1234").status().message(), "keyslot 0 is sealed to another TPM");
  slot = slot_;
  slot["pcr_values"]["16"] = std::string(64, 'a');
  EXPECT_EQ(Unlock(slot, "1234").status().message(), "the key does not open keyslot 0");
}

TEST_F(Tpm2SlotTest, MalformedFieldsAreCorruptionNamingTheSlot) {
  const std::vector<Edit> edits = {
      {"no tcti", [](json& s) { s.erase("tcti"); }},
      {"pcrs not an array", [](json& s) { s["pcrs"] = 16; }},
      {"pcr out of range", [](json& s) { s["pcrs"] = json::array({24}); }},
      {"pcrs unsorted",
       [](json& s) {
         s["pcrs"] = json::array({16, 7});
       }},
      {"pcrs duplicate",
       [](json& s) {
         s["pcrs"] = json::array({16, 16});
       }},
      {"pcr_values short", [](json& s) { s["pcr_values"]["16"] = "abcd"; }},
      {"pcr_values missing", [](json& s) { s["pcr_values"] = json::object(); }},
      {"pin not a bool", [](json& s) { s["pin"] = "yes"; }},
      {"pin_salt missing", [](json& s) { s.erase("pin_salt"); }},
      {"pin_salt without pin", [](json& s) { s["pin"] = false; }},
      {"sealed_public not base64", [](json& s) { s["sealed_public"] = "!!"; }},
      {"sealed_public truncated", [](json& s) { s["sealed_public"] = "AAEC"; }},
      {"sealed_private missing", [](json& s) { s.erase("sealed_private"); }},
      {"parent_name not hex", [](json& s) { s["parent_name"] = "xyz"; }},
  };
  for (const auto& [name, edit] : edits) {
    json slot = slot_;
    edit(slot);
    auto key = Unlock(slot, "1234");
    EXPECT_EQ(key.status().code(), Code::kCorruption) << name << ": " << key.status().ToString();
    EXPECT_EQ(key.status().message().rfind("keyslot 0: ", 0), 0u) << key.status().message();
  }
  json slot = slot_;
  slot["parent"] = "srk-rsa-2048";
  EXPECT_EQ(Unlock(slot, "1234").status().code(), Code::kUnsupported);
  slot = slot_;
  slot["kdf"] = "tpm2-hmac";
  EXPECT_EQ(Unlock(slot, "1234").status().code(), Code::kUnsupported);
  slot = slot_;
  slot["type"] = "keyfile";
  EXPECT_EQ(Unlock(slot, "1234").status().code(), Code::kInvalidArgument);
}

TEST_F(Tpm2SlotTest, FiftyUnlocksLeaveNothingLoaded) {
  for (int i = 0; i < 50; ++i) {
    auto key = Unlock(slot_, "1234");
    ASSERT_TRUE(key.ok()) << i << ": " << key.status().ToString();
    ASSERT_TRUE(key->Equals(master_key_));
  }
  ExpectNothingLoaded();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Unlock(slot_, "0000").status().code(), Code::kPermissionDenied);
  }
  ExpectNothingLoaded();
  ASSERT_TRUE(tpm_->ExtendPcr(16).ok());
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Unlock(slot_, "1234").status().code(), Code::kPermissionDenied);
  }
  ExpectNothingLoaded();
}

TEST_F(Tpm2SlotTest, UnlocksWithoutPolicyLeaveNothingLoaded) {
  json slot = Enrol();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(Unlock(slot).ok()) << i;
  ExpectNothingLoaded();
}

}  // namespace
}  // namespace modelvault::keyprovider::test
