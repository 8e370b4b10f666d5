// What is particular to each provider: the slot fields it writes, the golden slots from an
// independent implementation, and the limits on what a hostile slot may ask for.
#include <gtest/gtest.h>

#include <string>

#include "crypto/base64.h"
#include "keyprovider/key_provider.h"

namespace modelvault::keyprovider {
namespace {

using nlohmann::json;

// The keyslots of the golden header in tests/volume/volume_header_test.cc, computed by
// tests/volume/testdata/make_golden.py with Python's cryptography package.
constexpr char kGoldenKeyfileSlot[] = R"({
  "created": "2026-11-26T00:30:00Z", "id": 0, "kdf": "hkdf-sha256",
  "nonce": "AgICAgICAgICAgIC", "salt": "AQEBAQEBAQEBAQEBAQEBAQ==", "type": "keyfile",
  "wrapped_key": "WI/NlPDEU34/lAihTvl4nV5VCUX8xR7EE302qFpRyV+7RZ6UZ1jKnu1IPZKbtSmy"})";
constexpr char kGoldenPassphraseSlot[] = R"({
  "created": "2026-11-26T00:30:00Z", "id": 1, "kdf": "scrypt", "n": 1024, "p": 1, "r": 8,
  "nonce": "BAQEBAQEBAQEBAQE", "salt": "AwMDAwMDAwMDAwMDAwMDAw==", "type": "passphrase",
  "wrapped_key": "AmjV/ReVL7saVqa6oDHqoAd3mR1Uu04cgBe0l4k17GXtuthvK1FKm/pPE1hYHvUK"})";

SecretBytes Filled(size_t size, uint8_t value) {
  SecretBytes out(size);
  for (size_t i = 0; i < size; ++i) out.data()[i] = value;
  return out;
}

SecretBytes Text(const std::string& s) {
  return SecretBytes::CopyOf({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

volume::VolumeId GoldenVolumeId() {
  volume::VolumeId id;
  for (size_t i = 0; i < 16; ++i) id.bytes[i] = static_cast<uint8_t>(0x10 + i);
  return id;
}

void ExpectGoldenMasterKey(const Result<SecretBytes>& key) {
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  ASSERT_EQ(key->size(), 32u);
  for (size_t i = 0; i < 32; ++i) EXPECT_EQ(key->data()[i], i);
}

constexpr crypto::ScryptParams kSmall{1024, 8, 1};

TEST(KeyfileProviderTest, OpensTheGoldenSlot) {
  ExpectGoldenMasterKey(NewKeyfileProvider(Filled(32, 0xa5))
                            ->Unlock(json::parse(kGoldenKeyfileSlot), GoldenVolumeId()));
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
  ExpectGoldenMasterKey(NewPassphraseProvider(Text("correct horse battery staple"))
                            ->Unlock(json::parse(kGoldenPassphraseSlot), GoldenVolumeId()));
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
  auto provider = NewPassphraseProvider(Text("correct horse battery staple"));
  for (const auto& [n, r, p] : bad) {
    json slot = json::parse(kGoldenPassphraseSlot);
    slot["n"] = n;
    slot["r"] = r;
    slot["p"] = p;
    auto key = provider->Unlock(slot, GoldenVolumeId());
    EXPECT_EQ(key.status().code(), Code::kCorruption) << n << " " << r << " " << p;
    EXPECT_EQ(key.status().message().rfind("keyslot 1: scrypt", 0), 0u) << key.status().message();
  }
  json negative = json::parse(kGoldenPassphraseSlot);
  negative["n"] = -1024;
  EXPECT_EQ(provider->Unlock(negative, GoldenVolumeId()).status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace modelvault::keyprovider
