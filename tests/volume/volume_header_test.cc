#include "volume/volume_header.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "crypto/base64.h"
#include "tests/volume/golden.h"

namespace modelvault::volume {
namespace {

using nlohmann::json;

constexpr char kPath[] = "/srv/store/modelvault.json";

std::shared_ptr<const VolumeKeys> Keys(const SecretBytes& master) {
  auto keys = VolumeKeys::Derive(master);
  EXPECT_TRUE(keys.ok()) << keys.status().ToString();
  return *keys;
}

VolumeHeader SampleHeader() {
  VolumeHeader h;
  for (size_t i = 0; i < 16; ++i) h.volume_id.bytes[i] = static_cast<uint8_t>(0xa0 + i);
  h.block_size = 4096;
  h.created = "2026-11-26T00:30:00Z";
  h.keyslots.push_back(json{{"id", 0}, {"type", "keyfile"}, {"salt", "c2FsdA=="}});
  return h;
}

TEST(VolumeHeaderTest, GoldenHeaderParsesVerifiesAndReserializesByteForByte) {
  auto header = VolumeHeader::Parse(golden::kHeader, kPath);
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(header->version, 1);
  EXPECT_EQ(header->block_size, 65536u);
  EXPECT_EQ(header->volume_id.bytes[0], golden::kVolumeIdFirst);
  EXPECT_EQ(header->volume_id.bytes[15], 0x1f);
  ASSERT_EQ(header->keyslots.size(), 2u);
  EXPECT_TRUE(header->Verify(*Keys(golden::MasterKey())).ok());
  EXPECT_EQ(header->Serialize(), golden::kHeader);
  // Sealing again reproduces the MAC that an independent implementation computed.
  VolumeHeader resealed = *header;
  ASSERT_TRUE(resealed.Seal(*Keys(golden::MasterKey())).ok());
  EXPECT_EQ(resealed.mac, header->mac);
}

TEST(VolumeHeaderTest, RoundTripKeepsEveryField) {
  auto keys = Keys(golden::MasterKey());
  VolumeHeader h = SampleHeader();
  ASSERT_TRUE(h.Seal(*keys).ok());
  auto parsed = VolumeHeader::Parse(h.Serialize(), kPath);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->volume_id, h.volume_id);
  EXPECT_EQ(parsed->cipher, h.cipher);
  EXPECT_EQ(parsed->name_cipher, h.name_cipher);
  EXPECT_EQ(parsed->block_size, h.block_size);
  EXPECT_EQ(parsed->created, h.created);
  EXPECT_EQ(parsed->keyslots, h.keyslots);
  EXPECT_EQ(parsed->mac, h.mac);
  EXPECT_TRUE(parsed->Verify(*keys).ok());
  EXPECT_EQ(parsed->Serialize(), h.Serialize());
  EXPECT_EQ(h.Serialize().back(), '\n');
}

TEST(VolumeHeaderTest, CanonicalBodyIsCompactSortedAndWithoutMac) {
  VolumeHeader h = SampleHeader();
  h.mac = "anything";
  EXPECT_EQ(h.CanonicalBody(),
            R"({"block_size":4096,"cipher":"AES-256-GCM","created":"2026-11-26T00:30:00Z",)"
            R"("format":"modelvault","keyslots":[{"id":0,"salt":"c2FsdA==","type":"keyfile"}],)"
            R"("name_cipher":"AES-256-SIV","version":1,)"
            R"("volume_id":"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"})");
}

TEST(VolumeHeaderTest, CanonicalBodyIgnoresLayoutOfTheFile) {
  auto keys = Keys(golden::MasterKey());
  // The same document with other whitespace and key order still verifies.
  json doc = json::parse(golden::kHeader);
  std::string compact = doc.dump();
  auto parsed = VolumeHeader::Parse(compact, kPath);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(parsed->Verify(*keys).ok());
  std::string shuffled =
      R"({"version":1,"mac":)" + doc["mac"].dump() + R"(,"format":"modelvault",)" +
      R"("keyslots":)" + doc["keyslots"].dump(4) + R"(,"block_size":65536,)" +
      R"("created":"2026-11-26T00:30:00Z","cipher":"AES-256-GCM",)" +
      R"("volume_id":"101112131415161718191a1b1c1d1e1f",)" + R"("name_cipher":"AES-256-SIV"})";
  auto reordered = VolumeHeader::Parse(shuffled, kPath);
  ASSERT_TRUE(reordered.ok()) << reordered.status().ToString();
  EXPECT_TRUE(reordered->Verify(*keys).ok());
  EXPECT_EQ(reordered->CanonicalBody(), parsed->CanonicalBody());
}

TEST(VolumeHeaderTest, VerifyFailsUnderAnotherMasterKey) {
  auto header = VolumeHeader::Parse(golden::kHeader, kPath);
  ASSERT_TRUE(header.ok());
  SecretBytes other = golden::MasterKey();
  other.data()[0] ^= 1;
  Status st = header->Verify(*Keys(other));
  EXPECT_EQ(st.code(), Code::kCorruption);
  EXPECT_NE(st.message().find("header authentication failed"), std::string::npos);
}

struct Edit {
  const char* name;
  std::function<void(json&)> apply;
};

class HeaderEditTest : public ::testing::TestWithParam<Edit> {};

// Every edit below still parses; only the MAC can tell.
TEST_P(HeaderEditTest, MacCatchesTheEdit) {
  json doc = json::parse(golden::kHeader);
  GetParam().apply(doc);
  auto header = VolumeHeader::Parse(doc.dump(2), kPath);
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(header->Verify(*Keys(golden::MasterKey())).code(), Code::kCorruption);
}

INSTANTIATE_TEST_SUITE_P(
    AllFields, HeaderEditTest,
    ::testing::Values(
        Edit{"block_size", [](json& d) { d["block_size"] = 4096; }},
        Edit{"volume_id", [](json& d) { d["volume_id"] = "101112131415161718191a1b1c1d1e1e"; }},
        Edit{"created", [](json& d) { d["created"] = "2026-11-26T00:30:01Z"; }},
        Edit{"slot_salt", [](json& d) { d["keyslots"][0]["salt"] = "AQEBAQEBAQEBAQEBAQEBAg=="; }},
        Edit{"slot_id", [](json& d) { d["keyslots"][1]["id"] = 2; }},
        Edit{"slot_added_field", [](json& d) { d["keyslots"][0]["note"] = "x"; }},
        Edit{"slot_removed", [](json& d) { d["keyslots"].erase(1); }},
        Edit{"slot_added",
             [](json& d) {
               d["keyslots"].push_back(json{{"id", 5}, {"type", "x"}});
             }},
        Edit{"slots_swapped", [](json& d) { std::swap(d["keyslots"][0], d["keyslots"][1]); }},
        Edit{"mac", [](json& d) { d["mac"] = crypto::Base64Encode(std::vector<uint8_t>(32)); }},
        Edit{"mac_not_base64", [](json& d) { d["mac"] = "not base64!"; }}),
    [](const ::testing::TestParamInfo<Edit>& info) { return std::string(info.param.name); });

// Parses the golden header after `edit`; returns the error.
Status ParseEdited(const std::function<void(json&)>& edit) {
  json doc = json::parse(golden::kHeader);
  edit(doc);
  auto header = VolumeHeader::Parse(doc.dump(2), kPath);
  return header.ok() ? Status::Ok() : header.status();
}

TEST(VolumeHeaderParseTest, SyntaxErrorNamesPathAndLine) {
  auto header =
      VolumeHeader::Parse("{\n  \"format\": \"modelvault\",\n  \"version\": 1,,\n}", kPath);
  ASSERT_FALSE(header.ok());
  EXPECT_EQ(header.status().code(), Code::kCorruption);
  EXPECT_EQ(header.status().message().rfind(std::string(kPath) + ": line 3: syntax error", 0), 0u)
      << header.status().message();
}

TEST(VolumeHeaderParseTest, UnsupportedVersion) {
  Status st = ParseEdited([](json& d) { d["version"] = 7; });
  EXPECT_EQ(st.code(), Code::kUnsupported);
  EXPECT_EQ(st.message(), std::string(kPath) +
                              ": format version 7 is not supported (this build reads version 1)");
}

TEST(VolumeHeaderParseTest, WrongTypesNameTheField) {
  Status st = ParseEdited([](json& d) { d["block_size"] = "65536"; });
  EXPECT_EQ(st.message(), std::string(kPath) + ": field \"block_size\" must be an integer");
  st = ParseEdited([](json& d) { d["created"] = 5; });
  EXPECT_EQ(st.message(), std::string(kPath) + ": field \"created\" must be a string");
  st = ParseEdited([](json& d) { d["keyslots"] = json::object(); });
  EXPECT_EQ(st.message(), std::string(kPath) + ": field \"keyslots\" must be an array");
  st = ParseEdited([](json& d) { d["version"] = 1.5; });
  EXPECT_EQ(st.message(), std::string(kPath) + ": field \"version\" must be an integer");
}

TEST(VolumeHeaderParseTest, RefusesBadValues) {
  struct Case {
    std::function<void(json&)> edit;
    const char* message_part;
    Code code;
  };
  const Case cases[] = {
      {[](json& d) { d.erase("mac"); }, "missing field \"mac\"", Code::kCorruption},
      {[](json& d) { d["format"] = "gocryptfs"; }, "field \"format\"", Code::kCorruption},
      {[](json& d) { d["cipher"] = "ChaCha20-Poly1305"; }, "\"ChaCha20-Poly1305\" is not supported",
       Code::kUnsupported},
      {[](json& d) { d["name_cipher"] = "AES-256-EME"; }, "\"AES-256-EME\" is not supported",
       Code::kUnsupported},
      {[](json& d) { d["block_size"] = 1000; }, "1000 is not a power of two", Code::kCorruption},
      {[](json& d) { d["block_size"] = -4096; }, "block_size", Code::kCorruption},
      {[](json& d) { d["block_size"] = 1u << 21; }, "is not a power of two", Code::kCorruption},
      {[](json& d) { d["volume_id"] = "101112131415161718191A1B1C1D1E1F"; }, "volume_id",
       Code::kCorruption},
      {[](json& d) { d["volume_id"] = "1011"; }, "volume_id", Code::kCorruption},
      {[](json& d) { d["extra"] = 1; }, "unknown field \"extra\"", Code::kCorruption},
      {[](json& d) { d["keyslots"][1]["id"] = 0; }, "keyslots[1]: duplicate slot id 0",
       Code::kCorruption},
      {[](json& d) { d["keyslots"][0].erase("type"); }, "keyslots[0]: missing field \"type\"",
       Code::kCorruption},
      {[](json& d) { d["keyslots"][0]["id"] = -1; }, "keyslots[0]: field \"id\" is out of range",
       Code::kCorruption},
      {[](json& d) { d["keyslots"][0] = "slot"; }, "keyslots[0]: must be an object",
       Code::kCorruption},
  };
  for (const Case& c : cases) {
    Status st = ParseEdited(c.edit);
    EXPECT_EQ(st.code(), c.code) << st.message();
    EXPECT_EQ(st.message().rfind(std::string(kPath) + ": ", 0), 0u) << st.message();
    EXPECT_NE(st.message().find(c.message_part), std::string::npos) << st.message();
  }
}

TEST(VolumeHeaderParseTest, RefusesNonObjects) {
  EXPECT_EQ(VolumeHeader::Parse("[1, 2]", kPath).status().code(), Code::kCorruption);
  EXPECT_EQ(VolumeHeader::Parse("", kPath).status().code(), Code::kCorruption);
}

TEST(VolumeHeaderTest, NextSlotIdFillsTheFirstGap) {
  VolumeHeader h;
  EXPECT_EQ(h.NextSlotId(), 0);
  h.keyslots = {json{{"id", 0}}, json{{"id", 2}}};
  EXPECT_EQ(h.NextSlotId(), 1);
  h.keyslots.push_back(json{{"id", 1}});
  EXPECT_EQ(h.NextSlotId(), 3);
}

}  // namespace
}  // namespace modelvault::volume
