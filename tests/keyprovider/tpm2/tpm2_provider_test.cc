// The tpm2 provider against a real swtpm: round trips, PIN, PCR binding, another TPM, an
// unreachable TPM, dictionary-attack lockout.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/keyprovider/tpm2/tpm2_case.h"
#include "tests/keyprovider/tpm2/tpm2_test_util.h"

namespace modelvault::keyprovider::test {
namespace {

using nlohmann::json;

void ExpectKey(const Result<SecretBytes>& key, const SecretBytes& want) {
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(key->Equals(want));
}

bool Contains(const Status& status, std::string_view text) {
  return status.message().find(text) != std::string::npos;
}

TEST_F(Tpm2Test, RoundTripWithoutPcrsOrPin) {
  json slot = Enrol();
  EXPECT_EQ(slot["type"], "tpm2");
  EXPECT_EQ(slot["kdf"], "tpm2-seal");
  EXPECT_EQ(slot["tcti"], tpm_->Tcti());
  EXPECT_EQ(slot["parent"], "srk-ecc-p256");
  EXPECT_EQ(slot["pcr_bank"], "sha256");
  EXPECT_EQ(slot["pcrs"], json::array());
  EXPECT_EQ(slot["pcr_values"], json::object());
  EXPECT_EQ(slot["pin"], false);
  EXPECT_FALSE(slot.contains("pin_salt"));
  ExpectKey(Unlock(slot), master_key_);
  // A PIN given for a slot without one is not needed, and does no harm.
  ExpectKey(Unlock(slot, "1234"), master_key_);
}

TEST_F(Tpm2Test, RoundTripWithPcrs) {
  json slot = Enrol(std::nullopt, {7, 0, 7});
  EXPECT_EQ(slot["pcrs"], json::array({0, 7}));
  ASSERT_TRUE(slot["pcr_values"].contains("0"));
  ASSERT_TRUE(slot["pcr_values"].contains("7"));
  EXPECT_EQ(slot["pcr_values"]["7"].get<std::string>().size(), 64u);
  ExpectKey(Unlock(json::parse(slot.dump(2))), master_key_);
}

TEST_F(Tpm2Test, RoundTripWithPin) {
  json slot = Enrol("1234");
  EXPECT_EQ(slot["pin"], true);
  EXPECT_TRUE(slot["pin_salt"].is_string());
  ExpectKey(Unlock(slot, "1234"), master_key_);
}

TEST_F(Tpm2Test, RoundTripWithPcrsAndPin) {
  json slot = Enrol("correct horse", {16, 23});
  ExpectKey(Unlock(slot, "correct horse"), master_key_);
}

TEST_F(Tpm2Test, WrongPinIsPermissionDeniedAndSaysHowManyTriesAreLeft) {
  json slot = Enrol("1234", {7});
  auto key = Unlock(slot, "4321");
  EXPECT_EQ(key.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(key.status().message(),
            "wrong PIN for keyslot 0 (31 tries left before the TPM locks out)");
  ExpectKey(Unlock(slot, "1234"), master_key_);
}

TEST_F(Tpm2Test, PinSlotWithoutPinIsInvalidArgument) {
  json slot = Enrol("1234");
  auto key = Unlock(slot);
  EXPECT_EQ(key.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(key.status().message(), "keyslot 0 needs a PIN (--tpm2-pin-file)");
}

TEST_F(Tpm2Test, ChangedPcrIsNamed) {
  json slot = Enrol(std::nullopt, {7, 16});
  ASSERT_TRUE(tpm_->ExtendPcr(16).ok());
  auto key = Unlock(slot);
  EXPECT_EQ(key.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(key.status().message(),
            "keyslot 0: PCR 16 changed since enrolment (or the slot's PCR fields were edited)");
  ASSERT_TRUE(tpm_->ExtendPcr(7).ok());
  EXPECT_EQ(Unlock(slot).status().message(),
            "keyslot 0: PCRs 7, 16 changed since enrolment (or the slot's PCR fields were edited)");
  // A PCR outside the slot's selection does not matter.
  json other = Enrol(std::nullopt, {23});
  ASSERT_TRUE(tpm_->ExtendPcr(16).ok());
  ExpectKey(Unlock(other), master_key_);
}

TEST_F(Tpm2Test, ChangedPcrIsNamedWithPinToo) {
  json slot = Enrol("1234", {23});
  ASSERT_TRUE(tpm_->ExtendPcr(23).ok());
  auto key = Unlock(slot, "1234");
  EXPECT_EQ(key.status().message(),
            "keyslot 0: PCR 23 changed since enrolment (or the slot's PCR fields were edited)");
  // The policy check comes before TPM2_Unseal: a wrong PIN costs no try here.
  EXPECT_EQ(Unlock(slot, "4321").status().message(),
            "keyslot 0: PCR 23 changed since enrolment (or the slot's PCR fields were edited)");
}

TEST_F(Tpm2Test, SlotOfAnotherTpmIsRefused) {
  json slot = Enrol("1234", {7});
  auto other = Swtpm::Start();
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  auto key = Provider("1234", {}, (*other)->Tcti())->Unlock(slot, volume_id_);
  EXPECT_EQ(key.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(key.status().message(), "keyslot 0 is sealed to another TPM");
  // With the other TPM's SRK name forged in, that TPM still cannot load the sealed object.
  auto other_slot = Provider(std::nullopt, {}, (*other)->Tcti())->Enrol(master_key_, volume_id_, 0);
  ASSERT_TRUE(other_slot.ok()) << other_slot.status().ToString();
  json forged = slot;
  forged["parent_name"] = (*other_slot)["parent_name"];
  key = Provider("1234", {}, (*other)->Tcti())->Unlock(forged, volume_id_);
  EXPECT_EQ(key.status().code(), Code::kPermissionDenied) << key.status().ToString();
  EXPECT_TRUE(Contains(key.status(), "the TPM refuses the slot's sealed object"))
      << key.status().message();
}

TEST_F(Tpm2Test, UnreachableTpmIsIOErrorNamingTheTcti) {
  json slot = Enrol();
  std::string tcti = "swtpm:path=" + tpm_->dir() + "/nobody-listens.sock";
  auto key = Provider(std::nullopt, {}, tcti)->Unlock(slot, volume_id_);
  EXPECT_EQ(key.status().code(), Code::kIOError);
  EXPECT_TRUE(Contains(key.status(), "TPM not reachable through TCTI '" + tcti + "': "))
      << key.status().message();
  auto enrolled = Provider(std::nullopt, {}, tcti)->Enrol(master_key_, volume_id_, 1);
  EXPECT_EQ(enrolled.status().code(), Code::kIOError);
  // The slot's own TCTI is used when the provider has none.
  slot["tcti"] = tcti;
  EXPECT_EQ(Unlock(slot).status().code(), Code::kIOError);
}

TEST_F(Tpm2Test, OnlyALocalTctiIsTakenFromTheHeader) {
  json slot = Enrol(std::nullopt);
  const std::string marker = tpm_->dir() + "/ran";
  // Each of these would load a library, run a command, write to a file or talk to a TPM
  // elsewhere if the header's word were taken for it.
  const std::vector<std::string> hostile = {
      "cmd:touch " + marker, "libtss2-tcti-mssim.so.0",        "mssim:",
      "device:/etc/passwd",  "swtpm:host=192.0.2.1,port=2321", "swtpm:path=/tmp/x,host=192.0.2.1",
      "/tmp/evil.so"};
  for (const std::string& tcti : hostile) {
    json edited = slot;
    edited["tcti"] = tcti;
    auto key = Unlock(edited);
    EXPECT_EQ(key.status().code(), Code::kPermissionDenied) << tcti;
    EXPECT_TRUE(Contains(key.status(), "used only when named with --tpm2-tcti"))
        << key.status().message();
  }
  EXPECT_NE(access(marker.c_str(), F_OK), 0) << "a TCTI from the header ran a command";
  // Named by the user, the same slot still opens through the real TPM.
  json edited = slot;
  edited["tcti"] = "swtpm:host=192.0.2.1,port=2321";
  auto key = Provider(std::nullopt, {}, tpm_->Tcti())->Unlock(edited, volume_id_);
  EXPECT_EQ(key.status().code(), Code::kPermissionDenied);  // the envelope covers "tcti"
  EXPECT_TRUE(Contains(key.status(), "does not open")) << key.status().message();
  ExpectNothingLoaded();
}

TEST_F(Tpm2Test, LockoutIsReported) {
  ASSERT_TRUE(tpm_->SetLockoutPolicy(2, 1000, 1000).ok());
  json slot = Enrol("1234");
  EXPECT_EQ(Unlock(slot, "0000").status().message(),
            "wrong PIN for keyslot 0 (1 try left before the TPM locks out)");
  EXPECT_EQ(Unlock(slot, "0000").status().message(),
            "wrong PIN for keyslot 0; the TPM is now in dictionary-attack lockout");
  auto key = Unlock(slot, "1234");
  EXPECT_EQ(key.status().code(), Code::kPermissionDenied);
  EXPECT_TRUE(Contains(key.status(), "dictionary-attack lockout")) << key.status().message();
  ExpectNothingLoaded();
}

TEST_F(Tpm2Test, EnrolRefusesBadOptions) {
  EXPECT_EQ(Provider(std::nullopt, {24})->Enrol(master_key_, volume_id_, 0).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Provider(std::nullopt, {-1})->Enrol(master_key_, volume_id_, 0).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Provider("")->Enrol(master_key_, volume_id_, 0).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Provider()->Enrol(SecretBytes(16), volume_id_, 0).status().code(),
            Code::kInvalidArgument);
}

TEST_F(Tpm2Test, OneProviderOpensManySlots) {
  auto enroller = Provider("1234", {7});
  std::vector<json> slots;
  for (int id = 0; id < 4; ++id) {
    auto slot = enroller->Enrol(master_key_, volume_id_, id);
    ASSERT_TRUE(slot.ok()) << slot.status().ToString();
    slots.push_back(*slot);
  }
  // Enrolment and unlocking share one connection; the SRK is its only resident object.
  for (const json& slot : slots) ExpectKey(enroller->Unlock(slot, volume_id_), master_key_);
  enroller.reset();
  ExpectNothingLoaded();
}

TEST(Tpm2CaseTest, RightOpensAndWrongDoesNot) {
  volume::VolumeId volume_id;
  SecretBytes master_key(32);
  auto slot = Tpm2Case::Right()->Enrol(master_key, volume_id, 3);
  ASSERT_TRUE(slot.ok()) << slot.status().ToString();
  EXPECT_EQ(Tpm2Case::Right()->Type(), Tpm2Case::kType);
  ExpectKey(Tpm2Case::Right()->Unlock(*slot, volume_id), master_key);
  EXPECT_EQ(Tpm2Case::Wrong()->Unlock(*slot, volume_id).status().code(), Code::kPermissionDenied);
}

}  // namespace
}  // namespace modelvault::keyprovider::test
