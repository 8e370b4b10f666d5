// The recovery key's printed form, and that a recovery slot is not a keyfile slot.
#include "keyprovider/recovery_key.h"

#include <gtest/gtest.h>

#include <string>

#include "keyprovider/key_provider.h"
#include "tests/volume/golden.h"

namespace modelvault::keyprovider {
namespace {

using golden::Filled;
using golden::Text;

std::string AsString(const SecretBytes& s) {
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

SecretBytes Counting() {
  SecretBytes key(kRecoveryKeySize);
  for (size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<uint8_t>(i * 9 + 0xa0);
  return key;
}

TEST(RecoveryKeyTest, PrintedAsEightGroupsOfEightHexDigits) {
  EXPECT_EQ(AsString(FormatRecoveryKey(Counting())),
            "a0a9b2bb-c4cdd6df-e8f1fa03-0c151e27-3039424b-545d666f-78818a93-9ca5aeb7");
}

TEST(RecoveryKeyTest, ParsesWhatItPrints) {
  auto key = NewRecoveryKey();
  ASSERT_TRUE(key.ok());
  auto parsed = ParseRecoveryKey(FormatRecoveryKey(*key));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(parsed->Equals(*key));
}

TEST(RecoveryKeyTest, ForgivesCaseSpacesLineBreaksAndMissingDashes) {
  for (const char* text :
       {"A0A9B2BB-C4CDD6DF-E8F1FA03-0C151E27-3039424B-545D666F-78818A93-9CA5AEB7\n",
        "a0a9b2bb c4cdd6df e8f1fa03 0c151e27\n3039424b 545d666f 78818a93 9ca5aeb7",
        "a0a9b2bbc4cdd6dfe8f1fa030c151e273039424b545d666f78818a939ca5aeb7"}) {
    auto parsed = ParseRecoveryKey(Text(text));
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status().ToString();
    EXPECT_TRUE(parsed->Equals(Counting())) << text;
  }
}

TEST(RecoveryKeyTest, RefusesWrongLengthAndForeignCharacters) {
  auto short_key = ParseRecoveryKey(Text("a0a9b2bb-c4cdd6df"));
  EXPECT_EQ(short_key.status().code(), Code::kInvalidArgument);
  EXPECT_NE(short_key.status().message().find("this one has 16"), std::string::npos);
  auto foreign = ParseRecoveryKey(
      Text("g0a9b2bb-c4cdd6df-e8f1fa03-0c151e27-3039424b-545d666f-78818a93-9ca5aeb7"));
  EXPECT_EQ(foreign.status().code(), Code::kInvalidArgument);
  // The message never repeats what was typed.
  EXPECT_EQ(foreign.status().message().find("g0a9"), std::string::npos);
}

TEST(RecoveryKeyTest, RecoverySlotIsNotOpenedAsAKeyfileSlot) {
  volume::VolumeId id;
  auto slot = NewRecoveryKeyProvider(Filled(32, 7))->Enrol(Filled(32, 1), id, 0);
  ASSERT_TRUE(slot.ok());
  EXPECT_EQ((*slot)["type"], "recovery");
  EXPECT_EQ(NewKeyfileProvider(Filled(32, 7))->Unlock(*slot, id).status().code(),
            Code::kInvalidArgument);
  // Even relabelled as a keyfile slot, the per-type HKDF label keeps it shut.
  (*slot)["type"] = "keyfile";
  EXPECT_EQ(NewKeyfileProvider(Filled(32, 7))->Unlock(*slot, id).status().code(),
            Code::kPermissionDenied);
}

}  // namespace
}  // namespace modelvault::keyprovider
