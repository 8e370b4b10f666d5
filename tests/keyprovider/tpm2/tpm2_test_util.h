// A gtest fixture for tpm2 provider tests: a fresh swtpm per test, a volume ID, a master key,
// and shorthands to build providers and enrol slots.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "crypto/kdf.h"
#include "keyprovider/key_provider.h"
#include "tests/keyprovider/tpm2/swtpm_fixture.h"

namespace modelvault::keyprovider::test {

class Tpm2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto tpm = Swtpm::Start();
    ASSERT_TRUE(tpm.ok()) << tpm.status().ToString();
    tpm_ = std::move(tpm).value();
    for (size_t i = 0; i < volume_id_.bytes.size(); ++i) {
      volume_id_.bytes[i] = static_cast<uint8_t>(0x30 + i);
    }
    master_key_ = SecretBytes(32);
    for (size_t i = 0; i < master_key_.size(); ++i) master_key_.data()[i] = static_cast<uint8_t>(i);
  }

  static SecretBytes Pin(std::string_view pin) { return SecretBytes::CopyOf(crypto::AsBytes(pin)); }

  // A provider on this test's swtpm (or `tcti`), bound to `pcrs` and `pin` for enrolment.
  std::unique_ptr<KeyProvider> Provider(std::optional<std::string_view> pin = std::nullopt,
                                        std::vector<int> pcrs = {}, std::string tcti = "") {
    Tpm2Options options;
    options.tcti = tcti.empty() ? tpm_->Tcti() : std::move(tcti);
    options.pcrs = std::move(pcrs);
    if (pin) options.pin = Pin(*pin);
    return NewTpm2Provider(std::move(options));
  }

  // A slot enrolled with a provider that is gone again (it holds the swtpm connection).
  nlohmann::json Enrol(std::optional<std::string_view> pin = std::nullopt,
                       std::vector<int> pcrs = {}) {
    auto slot = Provider(pin, std::move(pcrs))->Enrol(master_key_, volume_id_, 0);
    EXPECT_TRUE(slot.ok()) << slot.status().ToString();
    return slot.ok() ? *slot : nlohmann::json();
  }

  // Unlocks with a fresh provider that knows only the PIN (TCTI from the slot).
  Result<SecretBytes> Unlock(const nlohmann::json& slot,
                             std::optional<std::string_view> pin = std::nullopt) {
    Tpm2Options options;
    if (pin) options.pin = Pin(*pin);
    return NewTpm2Provider(std::move(options))->Unlock(slot, volume_id_);
  }

  void ExpectNothingLoaded() {
    auto objects = tpm_->TransientObjects();
    ASSERT_TRUE(objects.ok()) << objects.status().ToString();
    EXPECT_EQ(*objects, 0);
    auto sessions = tpm_->LoadedSessions();
    ASSERT_TRUE(sessions.ok()) << sessions.status().ToString();
    EXPECT_EQ(*sessions, 0);
  }

  std::unique_ptr<Swtpm> tpm_;
  volume::VolumeId volume_id_;
  SecretBytes master_key_;
};

}  // namespace modelvault::keyprovider::test
