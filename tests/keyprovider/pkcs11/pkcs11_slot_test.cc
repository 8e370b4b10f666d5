// pkcs11 slots that were edited, are malformed, or belong to another token: never opened.
#include <gtest/gtest.h>

#include <functional>

#include "crypto/base64.h"
#include "tests/keyprovider/pkcs11/pkcs11_test_util.h"

namespace modelvault::keyprovider {
namespace {

using nlohmann::json;
using Edit = std::pair<const char*, std::function<void(json&)>>;

void FlipFirstByte(json& slot, const char* field) {
  auto bytes = *crypto::Base64Decode(slot[field].get<std::string>());
  bytes[0] ^= 1;
  slot[field] = crypto::Base64Encode(bytes);
}

class Pkcs11SlotTest : public Pkcs11Test {
 protected:
  // Every edit fails to unlock with the right PIN, as PermissionDenied or Corruption.
  void ExpectRefused(const json& slot, const std::vector<Edit>& edits,
                     const std::string& uri = "") {
    ExpectUnlocks(*Provider(uri), slot);
    for (const auto& [name, edit] : edits) {
      json edited = slot;
      edit(edited);
      auto key = Provider(uri)->Unlock(edited, volume_id_);
      EXPECT_TRUE(key.status().code() == Code::kPermissionDenied ||
                  key.status().code() == Code::kCorruption)
          << name << ": " << key.status().ToString();
    }
  }
};

TEST_F(Pkcs11SlotTest, EditedAesSlotIsRefused) {
  json slot = EnrolOrDie(*Provider(Uri(F::kTokenLabel, F::kAesKeyLabel)));
  const std::vector<Edit> edits = {
      {"wrapped_kek", [](json& s) { FlipFirstByte(s, "wrapped_kek"); }},
      {"wrapped_key", [](json& s) { FlipFirstByte(s, "wrapped_key"); }},
      {"nonce", [](json& s) { FlipFirstByte(s, "nonce"); }},
      {"mechanism", [](json& s) { s["mechanism"] = "rsa-oaep"; }},
      {"mechanism+hash",
       [](json& s) {
         s["mechanism"] = "rsa-oaep";
         s["oaep_hash"] = "sha1";
       }},
      {"oaep_hash added", [](json& s) { s["oaep_hash"] = "sha1"; }},
      {"uri token", [](json& s) { s["uri"] = "pkcs11:token=mv-other;object=mv-aes"; }},
      {"uri added attribute",
       [](json& s) { s["uri"] = "pkcs11:token=mv-test;object=mv-aes;type=secret-key"; }},
      {"key_label", [](json& s) { s["key_label"] = "other"; }},
      {"token_label", [](json& s) { s["token_label"] = "mv-other"; }},
      {"created", [](json& s) { s["created"] = "2020-01-01T00:00:00Z"; }},
      {"added field", [](json& s) { s["comment"] = "ops"; }},
  };
  ExpectRefused(slot, edits);
  // An explicit URI bypasses the slot's URI, not the slot's authentication.
  ExpectRefused(slot, edits, Uri(F::kTokenLabel, F::kAesKeyLabel));
}

TEST_F(Pkcs11SlotTest, EditedRsaSlotIsRefused) {
  json slot = EnrolOrDie(*Provider(Uri(F::kTokenLabel, F::kRsaKeyLabel), ""));
  ExpectRefused(slot, {
                          {"wrapped_kek", [](json& s) { FlipFirstByte(s, "wrapped_kek"); }},
                          {"wrapped_key", [](json& s) { FlipFirstByte(s, "wrapped_key"); }},
                          {"oaep_hash", [](json& s) { s["oaep_hash"] = "sha256"; }},
                          {"no oaep_hash", [](json& s) { s.erase("oaep_hash"); }},
                          {"mechanism", [](json& s) { s["mechanism"] = "aes-key-wrap"; }},
                          {"uri", [](json& s) { s["uri"] = "pkcs11:token=mv-test;object=x"; }},
                          {"key_label", [](json& s) { s["key_label"] = "mv-aes"; }},
                          {"short wrapped_kek",
                           [](json& s) {
                             auto b = *crypto::Base64Decode(s["wrapped_kek"].get<std::string>());
                             b.pop_back();
                             s["wrapped_kek"] = crypto::Base64Encode(b);
                           }},
                      });
}

// Without a URI from the caller, Unlock looks for the very token (serial) and key (id) the
// slot names, so that the PIN goes to no other token: edited, they are not found.
TEST_F(Pkcs11SlotTest, EditedSerialOrKeyIdIsNotFoundOrRefused) {
  json slot = EnrolOrDie(*Provider(Uri(F::kTokenLabel, F::kAesKeyLabel)));
  json serial = slot;
  serial["token_serial"] = "0000000000000000";
  json id = slot;
  id["key_id"] = "02";
  for (const json& edited : {serial, id}) {
    auto key = Provider("")->Unlock(edited, volume_id_);
    EXPECT_EQ(key.status().code(), Code::kNotFound) << key.status().ToString();
    key = Provider(Uri(F::kTokenLabel, F::kAesKeyLabel))->Unlock(edited, volume_id_);
    EXPECT_EQ(key.status().code(), Code::kPermissionDenied) << key.status().ToString();
  }
}

TEST_F(Pkcs11SlotTest, MalformedSlotIsCorruptionNamingIt) {
  json slot = EnrolOrDie(*Provider(Uri(F::kTokenLabel, F::kAesKeyLabel)));
  const std::vector<Edit> edits = {
      {"uri not a URI", [](json& s) { s["uri"] = "https://example.com"; }},
      {"uri with a module", [](json& s) { s["uri"] = "pkcs11:token=mv-test?module-path=/x.so"; }},
      {"uri a number", [](json& s) { s["uri"] = 5; }},
      {"key_id not hex", [](json& s) { s["key_id"] = "zz"; }},
      {"mechanism unknown", [](json& s) { s["mechanism"] = "des3"; }},
      {"no mechanism", [](json& s) { s.erase("mechanism"); }},
      {"wrapped_kek wrong size", [](json& s) { s["wrapped_kek"] = "AAAA"; }},
      {"wrapped_kek not base64", [](json& s) { s["wrapped_kek"] = "!!"; }},
      {"no token_serial", [](json& s) { s.erase("token_serial"); }},
      {"uri disagrees", [](json& s) { s["uri"] = "pkcs11:token=mv-other;object=mv-aes"; }},
  };
  for (const auto& [name, edit] : edits) {
    json edited = slot;
    edit(edited);
    auto key = Provider("")->Unlock(edited, volume_id_);
    EXPECT_EQ(key.status().code(), Code::kCorruption) << name << ": " << key.status().ToString();
    EXPECT_EQ(key.status().message().rfind("keyslot 3: ", 0), 0u) << key.status().message();
  }
}

TEST_F(Pkcs11SlotTest, SlotOfOneTokenDoesNotOpenWithAnotherTokensKey) {
  json aes = EnrolOrDie(*Provider(Uri(F::kTokenLabel, F::kAesKeyLabel)));
  auto key = Provider(Uri(kOther, F::kAesKeyLabel))->Unlock(aes, volume_id_);
  EXPECT_EQ(key.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(key.status().message(), "the key does not open keyslot 3");

  json rsa = EnrolOrDie(*Provider(Uri(F::kTokenLabel, F::kRsaKeyLabel), ""));
  key = Provider(Uri(kOther, F::kRsaKeyLabel))->Unlock(rsa, volume_id_);
  EXPECT_EQ(key.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(key.status().message(), "the key does not open keyslot 3");
}

TEST_F(Pkcs11SlotTest, KeyOfTheWrongKindDoesNotOpen) {
  json aes = EnrolOrDie(*Provider(Uri(F::kTokenLabel, F::kAesKeyLabel)));
  auto key = Provider(Uri(F::kTokenLabel, F::kRsaKeyLabel))->Unlock(aes, volume_id_);
  EXPECT_EQ(key.status().code(), Code::kPermissionDenied);
  EXPECT_TRUE(Contains(key.status(), "the slot needs an AES key")) << key.status().message();
  // type=private looks for RSA private keys only: none is labelled mv-aes.
  key = Provider(Uri(F::kTokenLabel, F::kAesKeyLabel) + ";type=private")->Unlock(aes, volume_id_);
  EXPECT_EQ(key.status().code(), Code::kNotFound);
}

TEST_F(Pkcs11SlotTest, SlotOfAnotherVolumeDoesNotOpen) {
  json slot = EnrolOrDie(*Provider(Uri(F::kTokenLabel, F::kAesKeyLabel)));
  volume::VolumeId other = volume_id_;
  other.bytes[15] ^= 1;
  EXPECT_EQ(Provider("")->Unlock(slot, other).status().code(), Code::kPermissionDenied);
}

TEST_F(Pkcs11SlotTest, EachEnrolmentIsFresh) {
  auto provider = Provider(Uri(F::kTokenLabel, F::kAesKeyLabel));
  json a = EnrolOrDie(*provider);
  json b = EnrolOrDie(*provider);
  EXPECT_NE(a["wrapped_kek"], b["wrapped_kek"]);
  EXPECT_NE(a["nonce"], b["nonce"]);
  EXPECT_NE(a["wrapped_key"], b["wrapped_key"]);
}

}  // namespace
}  // namespace modelvault::keyprovider
