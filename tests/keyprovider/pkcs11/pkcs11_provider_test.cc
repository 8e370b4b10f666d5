// The pkcs11 provider against SoftHSM2: enrol and unlock with an AES key and with an RSA
// key pair (enrolled without the PIN), and the errors that name what went wrong.
#include <gtest/gtest.h>

#include <thread>

#include "tests/keyprovider/pkcs11/pkcs11_test_util.h"

namespace modelvault::keyprovider {
namespace {

using nlohmann::json;

TEST_F(Pkcs11Test, AesKeyEnrolsAndUnlocks) {
  auto provider = Provider(Uri(F::kTokenLabel, F::kAesKeyLabel) + "?module-name=ignored");
  EXPECT_EQ(provider->Type(), "pkcs11");
  json slot = EnrolOrDie(*provider);
  EXPECT_EQ(slot["id"], kSlotId);
  EXPECT_EQ(slot["type"], "pkcs11");
  EXPECT_EQ(slot["kdf"], "pkcs11-wrap");
  EXPECT_EQ(slot["mechanism"], "aes-key-wrap");
  EXPECT_EQ(slot["uri"], "pkcs11:token=mv-test;object=mv-aes");
  EXPECT_EQ(slot["token_label"], "mv-test");
  EXPECT_EQ(slot["token_serial"].get<std::string>().size(), 16u);
  EXPECT_EQ(slot["key_label"], "mv-aes");
  EXPECT_EQ(slot["key_id"], "01");
  EXPECT_FALSE(slot.contains("oaep_hash"));
  EXPECT_TRUE(slot["wrapped_kek"].is_string());
  ExpectUnlocks(*provider, json::parse(slot.dump(2)));
  // With no URI, Unlock uses the one in the slot.
  ExpectUnlocks(*Provider(""), slot);
}

TEST_F(Pkcs11Test, RsaKeyPairEnrolsWithoutPinAndUnlocksWithIt) {
  json slot = EnrolOrDie(*Provider(Uri(F::kTokenLabel, F::kRsaKeyLabel), ""));
  EXPECT_EQ(slot["mechanism"], "rsa-oaep");
  // SoftHSM 2.6 refuses OAEP with SHA-256, so the provider falls back to SHA-1.
  EXPECT_EQ(slot["oaep_hash"], "sha1");
  EXPECT_EQ(slot["key_label"], "mv-rsa");
  EXPECT_EQ(slot["key_id"], "02");
  ExpectUnlocks(*Provider(Uri(F::kTokenLabel, F::kRsaKeyLabel)), slot);
  ExpectUnlocks(*Provider(""), slot);
  ExpectUnlocks(*Provider("pkcs11:token=mv-test;id=%02;type=private"), slot);
}

TEST_F(Pkcs11Test, RsaEnrolWithPinAndTypePublic) {
  json slot = EnrolOrDie(*Provider("pkcs11:token=mv-test;object=mv-rsa;type=public"));
  EXPECT_EQ(slot["mechanism"], "rsa-oaep");
  EXPECT_EQ(slot["uri"], "pkcs11:token=mv-test;object=mv-rsa;type=public");
  ExpectUnlocks(*Provider(""), slot);
}

TEST_F(Pkcs11Test, AesKeyNeedsThePinToEnrol) {
  auto slot =
      Provider(Uri(F::kTokenLabel, F::kAesKeyLabel), "")->Enrol(master_key_, volume_id_, kSlotId);
  EXPECT_EQ(slot.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(slot.status().message(),
            "enrolling with AES key 'mv-aes' needs the token's PIN (--pin-file)");
  // A missing key says that private objects are only visible after login.
  slot = Provider(Uri(F::kTokenLabel, "nope"), "")->Enrol(master_key_, volume_id_, kSlotId);
  EXPECT_EQ(slot.status().code(), Code::kNotFound);
  EXPECT_TRUE(Contains(slot.status(), "without the PIN")) << slot.status().message();
}

TEST_F(Pkcs11Test, WrongPinIsPermissionDeniedNamingTheToken) {
  json slot = EnrolOrDie(*Provider(Uri(F::kTokenLabel, F::kAesKeyLabel)));
  auto key = Provider("", "00000000")->Unlock(slot, volume_id_);
  EXPECT_EQ(key.status().code(), Code::kPermissionDenied);
  EXPECT_TRUE(Contains(key.status(), "wrong PIN for token 'mv-test'")) << key.status().message();
  EXPECT_FALSE(Contains(key.status(), "00000000"));
  auto enrol = Provider(Uri(F::kTokenLabel, F::kAesKeyLabel), "00000000")
                   ->Enrol(master_key_, volume_id_, kSlotId);
  EXPECT_EQ(enrol.status().code(), Code::kPermissionDenied);
  // A PIN of a length the token cannot have is a wrong PIN too.
  EXPECT_EQ(Provider("", "1")->Unlock(slot, volume_id_).status().code(), Code::kPermissionDenied);
}

TEST_F(Pkcs11Test, UnlockWithoutPinIsInvalidArgument) {
  json slot = EnrolOrDie(*Provider(Uri(F::kTokenLabel, F::kRsaKeyLabel), ""));
  auto key = Provider("", "")->Unlock(slot, volume_id_);
  EXPECT_EQ(key.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(key.status().message(), "keyslot 3 needs the token's PIN (--pin-file)");
}

TEST_F(Pkcs11Test, TokenNotFound) {
  auto slot = Provider(Uri("nope", F::kAesKeyLabel))->Enrol(master_key_, volume_id_, kSlotId);
  EXPECT_EQ(slot.status().code(), Code::kNotFound);
  EXPECT_TRUE(Contains(slot.status(), "no PKCS#11 token matches URI pkcs11:token=nope"))
      << slot.status().message();
}

TEST_F(Pkcs11Test, SeveralTokensMatchingIsAmbiguous) {
  auto slot = Provider("pkcs11:object=mv-aes")->Enrol(master_key_, volume_id_, kSlotId);
  EXPECT_EQ(slot.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Contains(slot.status(), "tokens match URI")) << slot.status().message();
  EXPECT_TRUE(Contains(slot.status(), "'mv-other'")) << slot.status().message();
}

TEST_F(Pkcs11Test, KeyNotFound) {
  auto slot = Provider(Uri(F::kTokenLabel, "nope"))->Enrol(master_key_, volume_id_, kSlotId);
  EXPECT_EQ(slot.status().code(), Code::kNotFound);
  EXPECT_TRUE(Contains(slot.status(), "no usable key in token 'mv-test'"))
      << slot.status().message();
  // A certificate or data object is not a key.
  auto cert = Provider(Uri(F::kTokenLabel, F::kRsaKeyLabel) + ";type=cert")
                  ->Enrol(master_key_, volume_id_, kSlotId);
  EXPECT_EQ(cert.status().code(), Code::kInvalidArgument);
}

TEST_F(Pkcs11Test, TwoKeysWithOneLabelAreAmbiguous) {
  auto slot = Provider(Uri(kDup, "dup"))->Enrol(master_key_, volume_id_, kSlotId);
  EXPECT_EQ(slot.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Contains(slot.status(), "2 keys match")) << slot.status().message();
  // The id tells them apart.
  json chosen = EnrolOrDie(*Provider(Uri(kDup, "dup") + ";id=%02"));
  EXPECT_EQ(chosen["key_id"], "02");
  ExpectUnlocks(*Provider(""), chosen);
  // Unlocking by label alone is ambiguous too, rather than a guess.
  auto key = Provider(Uri(kDup, "dup"))->Unlock(chosen, volume_id_);
  EXPECT_EQ(key.status().code(), Code::kInvalidArgument);
}

TEST_F(Pkcs11Test, MissingModuleIsNotFoundNamingThePath) {
  auto slot = Provider(Uri(F::kTokenLabel, F::kAesKeyLabel), F::kUserPin, "/nonexistent/p11.so")
                  ->Enrol(master_key_, volume_id_, kSlotId);
  EXPECT_EQ(slot.status().code(), Code::kNotFound);
  EXPECT_TRUE(Contains(slot.status(), "cannot load PKCS#11 module \"/nonexistent/p11.so\""))
      << slot.status().message();
  EXPECT_TRUE(Contains(slot.status(), "No such file")) << slot.status().message();
}

TEST_F(Pkcs11Test, LibraryThatIsNotAModuleIsRefused) {
  auto slot = Provider(Uri(F::kTokenLabel, F::kAesKeyLabel), F::kUserPin, "libc.so.6")
                  ->Enrol(master_key_, volume_id_, kSlotId);
  EXPECT_EQ(slot.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Contains(slot.status(), "not a PKCS#11 module")) << slot.status().message();
}

TEST_F(Pkcs11Test, ModulePathInTheUri) {
  std::string uri = Uri(F::kTokenLabel, F::kAesKeyLabel) + "?module-path=" + F::ModulePath();
  json slot = EnrolOrDie(*Provider(uri, F::kUserPin, ""));
  EXPECT_EQ(slot["uri"], "pkcs11:token=mv-test;object=mv-aes");
  ExpectUnlocks(*Provider(uri, F::kUserPin, ""), slot);
}

TEST_F(Pkcs11Test, P11KitProxyIsTheDefaultModule) {
  // Debian registers SoftHSM2 with p11-kit; the proxy then sees our SOFTHSM2_CONF store.
  json slot = EnrolOrDie(*Provider(Uri(F::kTokenLabel, F::kAesKeyLabel), F::kUserPin, ""));
  ExpectUnlocks(*Provider("", F::kUserPin, ""), slot);
  ExpectUnlocks(*Provider("", F::kUserPin), slot);
}

TEST_F(Pkcs11Test, PinInTheUriIsRefused) {
  auto slot = Provider(Uri(F::kTokenLabel, F::kAesKeyLabel) + "?pin-value=87654321")
                  ->Enrol(master_key_, volume_id_, kSlotId);
  EXPECT_EQ(slot.status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(Contains(slot.status(), "87654321"));
  auto source = Provider(Uri(F::kTokenLabel, F::kAesKeyLabel) + "?pin-source=file:/tmp/p")
                    ->Enrol(master_key_, volume_id_, kSlotId);
  EXPECT_EQ(source.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Contains(source.status(), "--pin-file"));
}

TEST_F(Pkcs11Test, EnrolNeedsAUri) {
  EXPECT_EQ(Provider("")->Enrol(master_key_, volume_id_, kSlotId).status().code(),
            Code::kInvalidArgument);
}

TEST_F(Pkcs11Test, ProvidersOnOneModuleRunConcurrently) {
  json aes = EnrolOrDie(*Provider(Uri(F::kTokenLabel, F::kAesKeyLabel)));
  json rsa = EnrolOrDie(*Provider(Uri(F::kTokenLabel, F::kRsaKeyLabel), ""));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto provider = Provider("");
      for (int i = 0; i < 5; ++i) {
        auto key = provider->Unlock(t % 2 ? aes : rsa, volume_id_);
        if (!key.ok() || !key->Equals(master_key_)) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace modelvault::keyprovider
