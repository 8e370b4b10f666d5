// What is particular to each provider: the slot fields it writes, the golden slots from an
// independent implementation, and the limits on what a hostile slot may ask for.
#include <gtest/gtest.h>

#include <string>

#include "crypto/base64.h"
#include "keyprovider/key_provider.h"
#include "tests/volume/golden.h"

namespace modelvault::keyprovider {
namespace {

using nlohmann::json;

using golden::Filled;
using golden::Text;

// The keyslots of the golden header, which an independent implementation sealed.
json GoldenSlot(size_t index) { return json::parse(golden::kHeader)["keyslots"][index]; }

volume::VolumeId GoldenVolumeId() {
  volume::VolumeId id;
  for (size_t i = 0; i < 16; ++i) id.bytes[i] = static_cast<uint8_t>(golden::kVolumeIdFirst + i);
  return id;
}

void ExpectGoldenMasterKey(const Result<SecretBytes>& key) {
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(key->Equals(golden::MasterKey()));
}

constexpr crypto::ScryptParams kSmall{1024, 8, 1};

TEST(KeyfileProviderTest, OpensTheGoldenSlot) {
  ExpectGoldenMasterKey(NewKeyfileProvider(Filled(32, golden::kKeyfileByte))
                            ->Unlock(GoldenSlot(0), GoldenVolumeId()));
}

TEST(KeyfileProviderTest, WritesTheDocumentedFields) {
  volume::VolumeId id;
  auto slot = NewKeyfileProvider(Filled(32, 1))->Enrol(Filled(32, 2), id, 0);
  ASSERT_TRUE(slot.ok());
  EXPECT_EQ((*slot)["kdf"], "hkdf-sha256");
  EXPECT_EQ(crypto::Base64Decode((*slot)["salt"].get<std::string>())->size(), 16u);
  EXPECT_EQ(slot->size(), 7u);  // id type created kdf salt nonce wrapped_key
}

TEST(KeyfileProviderTest, RefusesAKeyOfTheWrongSize) {
  volume::VolumeId id;
  auto provider = NewKeyfileProvider(Filled(31, 1));
  EXPECT_EQ(provider->Enrol(Filled(32, 2), id, 0).status().code(), Code::kInvalidArgument);
  auto slot = NewKeyfileProvider(Filled(32, 1))->Enrol(Filled(32, 2), id, 0);
  ASSERT_TRUE(slot.ok());
  auto refused = provider->Unlock(*slot, id);
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("exactly 32 bytes"), std::string::npos);
}

TEST(PassphraseProviderTest, OpensTheGoldenSlot) {
  ExpectGoldenMasterKey(
      NewPassphraseProvider(Text(golden::kPassphrase))->Unlock(GoldenSlot(1), GoldenVolumeId()));
}

TEST(PassphraseProviderTest, RecordsItsScryptParameters) {
  volume::VolumeId id;
  auto slot = NewPassphraseProvider(Text("pw"), {2048, 4, 2})->Enrol(Filled(32, 2), id, 0);
  ASSERT_TRUE(slot.ok()) << slot.status().ToString();
  EXPECT_EQ((*slot)["kdf"], "scrypt");
  EXPECT_EQ((*slot)["n"], 2048);
  EXPECT_EQ((*slot)["r"], 4);
  EXPECT_EQ((*slot)["p"], 2);
  // Opening uses the slot's parameters, not the provider's.
  auto key = NewPassphraseProvider(Text("pw"), kSmall)->Unlock(*slot, id);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(key->Equals(Filled(32, 2)));
}

TEST(PassphraseProviderTest, EnrolRefusesEmptyPassphraseAndBadParameters) {
  volume::VolumeId id;
  EXPECT_EQ(
      NewPassphraseProvider(SecretBytes(), kSmall)->Enrol(Filled(32, 2), id, 0).status().code(),
      Code::kInvalidArgument);
  for (crypto::ScryptParams bad :
       {crypto::ScryptParams{1000, 8, 1}, crypto::ScryptParams{1u << 23, 8, 1},
        crypto::ScryptParams{1024, 0, 1}, crypto::ScryptParams{1024, 8, 65}}) {
    EXPECT_EQ(NewPassphraseProvider(Text("pw"), bad)->Enrol(Filled(32, 2), id, 0).status().code(),
              Code::kInvalidArgument)
        << bad.n << " " << bad.r << " " << bad.p;
  }
}

// A header is writable by whoever can write the backing dir, so its scrypt parameters are
// hostile input: unlock must refuse costly ones before running scrypt at all.
TEST(PassphraseProviderTest, UnlockRefusesCostlyOrInvalidParameters) {
  const std::vector<std::tuple<uint64_t, uint64_t, uint64_t>> bad = {
      {uint64_t{1} << 23, 8, 1},  // n above 2^22
      {uint64_t{1} << 40, 1, 1},
      {1024, 8, 9},  // r*p = 72
      {1024, 1, 1u << 30},
      {1024, 1u << 31, 1},         // overflow bait
      {uint64_t{1} << 22, 16, 1},  // 8 GiB
      {1000, 8, 1},
      {1024, 0, 1},
      {0, 8, 1},
  };
  auto provider = NewPassphraseProvider(Text(golden::kPassphrase));
  for (const auto& [n, r, p] : bad) {
    json slot = GoldenSlot(1);
    slot["n"] = n;
    slot["r"] = r;
    slot["p"] = p;
    auto key = provider->Unlock(slot, GoldenVolumeId());
    EXPECT_EQ(key.status().code(), Code::kCorruption) << n << " " << r << " " << p;
    EXPECT_EQ(key.status().message().rfind("keyslot 1: scrypt", 0), 0u) << key.status().message();
  }
  json negative = GoldenSlot(1);
  negative["n"] = -1024;
  EXPECT_EQ(provider->Unlock(negative, GoldenVolumeId()).status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace modelvault::keyprovider
