// Shared setup of the pkcs11 provider tests: one SoftHSM2 store per test suite (ctest runs
// each test in its own process) with
//   mv-test   the fixture's standard token: AES "mv-aes" (01), RSA pair "mv-rsa" (02)
//   mv-other  same PINs, same labels and ids, different keys
//   mv-dup    two AES keys labelled "dup" (ids 01 and 02)
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "keyprovider/key_provider.h"
#include "tests/keyprovider/pkcs11/softhsm_fixture.h"

namespace modelvault::keyprovider {

class Pkcs11Test : public ::testing::Test {
 protected:
  using F = test::SoftHsmFixture;
  static constexpr char kOther[] = "mv-other";
  static constexpr char kDup[] = "mv-dup";
  static constexpr int kSlotId = 3;

  static void SetUpTestSuite() {
    auto made = F::New();
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    hsm_ = std::move(made).value().release();
    ASSERT_TRUE(hsm_->InitToken(kOther, F::kSoPin, F::kUserPin).ok());
    ASSERT_TRUE(hsm_->AddAesKey(kOther, F::kUserPin, F::kAesKeyLabel, F::kAesKeyId).ok());
    ASSERT_TRUE(hsm_->AddRsaKeyPair(kOther, F::kUserPin, F::kRsaKeyLabel, F::kRsaKeyId).ok());
    ASSERT_TRUE(hsm_->InitToken(kDup, F::kSoPin, F::kUserPin).ok());
    ASSERT_TRUE(hsm_->AddAesKey(kDup, F::kUserPin, "dup", "01").ok());
    ASSERT_TRUE(hsm_->AddAesKey(kDup, F::kUserPin, "dup", "02").ok());
  }
  static void TearDownTestSuite() { delete std::exchange(hsm_, nullptr); }

  void SetUp() override {
    for (size_t i = 0; i < 16; ++i) volume_id_.bytes[i] = static_cast<uint8_t>(0x30 + i);
    master_key_ = SecretBytes(32);
    for (size_t i = 0; i < 32; ++i) master_key_.data()[i] = static_cast<uint8_t>(0xc0 ^ i);
  }

  static std::string Uri(const std::string& token, const std::string& object) {
    return "pkcs11:token=" + token + ";object=" + object;
  }
  // A provider on SoftHSM; pin "" means no PIN.
  static std::unique_ptr<KeyProvider> Provider(const std::string& uri,
                                               const std::string& pin = F::kUserPin,
                                               const std::string& module = F::ModulePath()) {
    Pkcs11Options options{uri, module, std::nullopt};
    if (!pin.empty()) options.pin = F::Pin(pin);
    return NewPkcs11Provider(std::move(options));
  }
  nlohmann::json EnrolOrDie(KeyProvider& provider) {
    auto slot = provider.Enrol(master_key_, volume_id_, kSlotId);
    EXPECT_TRUE(slot.ok()) << slot.status().ToString();
    return slot.ok() ? *slot : nlohmann::json();
  }
  void ExpectUnlocks(KeyProvider& provider, const nlohmann::json& slot) {
    auto key = provider.Unlock(slot, volume_id_);
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_TRUE(key->Equals(master_key_));
  }
  static bool Contains(const Status& st, const std::string& text) {
    return st.message().find(text) != std::string::npos;
  }

  static inline F* hsm_ = nullptr;
  volume::VolumeId volume_id_;
  SecretBytes master_key_;
};

}  // namespace modelvault::keyprovider
