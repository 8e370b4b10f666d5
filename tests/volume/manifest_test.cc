// Manifest (volume/manifest.h): Merkle known answers, the JSON round trip, the signature
// over every field, and the parser's refusals.
#include "volume/manifest.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "crypto/ed25519.h"
#include "crypto/hex.h"
#include "volume/merkle_stream.h"

namespace modelvault::volume {
namespace {

using nlohmann::json;
using Kind = ManifestEntry::Kind;

std::string Hex(const crypto::Digest& d) { return crypto::HexEncode(d); }
std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::vector<crypto::Digest> Leaves(size_t n) {
  std::vector<crypto::Digest> out;
  for (size_t i = 0; i < n; ++i) out.push_back(MerkleLeaf(Bytes("block" + std::to_string(i))));
  return out;
}

// Known answers from Python's hashlib, with blocks b"block0", b"block1", ...:
//   leaf = sha256(b"\x00" + block); node = sha256(b"\x01" + left + right);
//   pair level by level, an odd last node carried up; root of nothing = sha256(b"\x02").
TEST(MerkleTest, KnownAnswers) {
  auto leaves = Leaves(5);
  EXPECT_EQ(Hex(leaves[0]), "23b14e63f797617507fefc1d0bf2e04439b48f9746146da3558586db1beff113");
  auto root = [&](size_t n) { return Hex(MerkleRoot(std::span(leaves).first(n))); };
  EXPECT_EQ(root(0), "dbc1b4c900ffe48d575b5da5c638040125f65db0fe3e24494b76ea986457d986");
  EXPECT_EQ(root(1), "23b14e63f797617507fefc1d0bf2e04439b48f9746146da3558586db1beff113");
  EXPECT_EQ(root(2), "7f159040e405ec90db2a2bc78de81b78dedc894f041bade8f9b57fe117d79b3e");
  EXPECT_EQ(root(3), "3393b7f8aff10d2c487dc257e09e701cadd203e40e336df1de5880e21b4cf221");
  EXPECT_EQ(root(5), "2043fc93946e2d87f37fe9b95b16faf95e2f37698aa1c0e99740c2c776624072");
}

TEST(MerkleTest, StreamMatchesLevelByLevel) {
  auto leaves = Leaves(70);
  internal::MerkleStream stream;
  for (size_t n = 0; n <= leaves.size(); ++n) {
    EXPECT_EQ(stream.Root(), MerkleRoot(std::span(leaves).first(n))) << n << " leaves";
    if (n < leaves.size()) stream.Add(leaves[n]);
  }
}

TEST(MerkleTest, OddNodeIsNotDuplicated) {
  auto leaves = Leaves(3);
  std::vector<crypto::Digest> padded = {leaves[0], leaves[1], leaves[2], leaves[2]};
  EXPECT_NE(MerkleRoot(leaves), MerkleRoot(padded));
}

class ManifestTest : public ::testing::Test {
 protected:
  ManifestTest() : key_(std::move(crypto::Ed25519PrivateKey::Generate()).value()) {
    m_.volume_id.bytes.fill(0x11);
    m_.version = 3;
    m_.signed_at = "2026-11-26T00:30:00Z";
    m_.block_size = 4096;
    m_.algorithm = "ed25519";
    m_.public_key = key_.PublicKey();
    ManifestEntry dir{"AAAA", Kind::kDir};
    ManifestEntry file{"AAAA/BBBB", Kind::kFile, 32 + 4124 + 128};
    file.file_id.bytes.fill(0x22);
    file.blocks = 2;
    file.digest = MerkleRoot(Leaves(2));
    ManifestEntry mvdir{"AAAA/.mvdir", Kind::kOther, 16};
    mvdir.digest.fill(0x33);
    ManifestEntry link{"CCCC", Kind::kSymlink, 40};
    link.digest.fill(0x44);
    ManifestEntry empty{"DDDD", Kind::kFile, 0};
    empty.digest = MerkleRoot({});
    m_.entries = {dir, mvdir, file, link, empty};
    Sign(m_);
    trusted_ = {{"ed25519", key_.PublicKey(), "test"}};
  }

  void Sign(Manifest& m) {
    std::string body = m.SignedBody();
    m.signature = std::move(key_.Sign(Bytes(body))).value();
  }
  json AsJson() const { return json::parse(m_.Serialize()); }
  Result<Manifest> ParseJson(const json& j) const { return Manifest::Parse(j.dump(), "M"); }

  crypto::Ed25519PrivateKey key_;
  Manifest m_;
  std::vector<TrustedKey> trusted_;
};

TEST_F(ManifestTest, RoundTrip) {
  auto parsed = Manifest::Parse(m_.Serialize(), "M");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->SignedBody(), m_.SignedBody());
  EXPECT_EQ(parsed->Serialize(), m_.Serialize());
  EXPECT_EQ(parsed->signature, m_.signature);
  ASSERT_EQ(parsed->entries.size(), 5u);
  EXPECT_EQ(parsed->entries[2].file_id, m_.entries[2].file_id);
  EXPECT_TRUE(VerifyManifestSignature(*parsed, trusted_).ok());
  EXPECT_EQ(parsed->KeyId().substr(0, 7), "sha256:");
  EXPECT_EQ(parsed->KeyId().size(), 7u + 64);
}

TEST_F(ManifestTest, SignedBodyIsCompactSortedAndUnsigned) {
  std::string body = m_.SignedBody();
  EXPECT_EQ(
      body.rfind("{\"algorithm\":\"ed25519\",\"block_size\":4096,\"directory\":\"\",\"entries\":[",
                 0),
      0u)
      << body;
  EXPECT_EQ(body.find("signature"), std::string::npos);
  EXPECT_EQ(body.find(' '), std::string::npos);
  EXPECT_NE(body.find("{\"digest\":\""), std::string::npos);
}

TEST_F(ManifestTest, FindAndLayoutIndependence) {
  EXPECT_EQ(m_.Find("AAAA/BBBB"), &m_.entries[2]);
  EXPECT_EQ(m_.Find("AAAA/BBB"), nullptr);
  EXPECT_EQ(m_.Find(""), nullptr);
  // Key order and whitespace of the file do not matter: the body is rebuilt.
  auto parsed = Manifest::Parse(AsJson().dump(), "M");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(VerifyManifestSignature(*parsed, trusted_).ok());
}

TEST_F(ManifestTest, EveryFieldEditBreaksTheSignature) {
  std::vector<std::pair<std::string, std::function<void(Manifest&)>>> edits = {
      {"volume_id", [](Manifest& m) { m.volume_id.bytes[0] ^= 1; }},
      {"version", [](Manifest& m) { m.version = 2; }},
      {"signed_at", [](Manifest& m) { m.signed_at = "2026-11-26T00:30:01Z"; }},
      {"directory", [](Manifest& m) { m.directory = "elsewhere"; }},
      {"block_size", [](Manifest& m) { m.block_size = 8192; }},
      {"path", [](Manifest& m) { m.entries[3].path = "CCCD"; }},
      {"kind", [](Manifest& m) { m.entries[1].kind = Kind::kFile; }},
      {"size", [](Manifest& m) { m.entries[2].size += 1; }},
      {"file_id", [](Manifest& m) { m.entries[2].file_id.bytes[15] ^= 1; }},
      {"blocks", [](Manifest& m) { m.entries[2].blocks = 1; }},
      {"digest", [](Manifest& m) { m.entries[2].digest[0] ^= 1; }},
      {"entry removed", [](Manifest& m) { m.entries.pop_back(); }},
      {"entry added",
       [](Manifest& m) {
         m.entries.push_back({"EEEE", Kind::kDir});
       }},
      {"signature", [](Manifest& m) { m.signature[10] ^= 1; }},
  };
  for (auto& [what, edit] : edits) {
    Manifest m = m_;
    edit(m);
    Status st = VerifyManifestSignature(m, trusted_);
    EXPECT_EQ(st.code(), Code::kCorruption) << what << ": " << st.ToString();
    EXPECT_EQ(st.message(), "signature does not verify") << what;
  }
}

TEST_F(ManifestTest, EditedFileTextBreaksTheSignature) {
  std::string text = m_.Serialize();
  size_t at = text.find("\"version\": 3");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 12, "\"version\": 9");
  auto parsed = Manifest::Parse(text, "M");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(VerifyManifestSignature(*parsed, trusted_).code(), Code::kCorruption);
}

TEST_F(ManifestTest, UntrustedKeyIsPermissionDenied) {
  auto other = std::move(crypto::Ed25519PrivateKey::Generate()).value();
  std::vector<TrustedKey> trusted = {{"ed25519", other.PublicKey(), "other"}};
  Status st = VerifyManifestSignature(m_, trusted);
  EXPECT_EQ(st.code(), Code::kPermissionDenied);
  EXPECT_EQ(st.message(), "signed by an untrusted key " + m_.KeyId());
  EXPECT_EQ(VerifyManifestSignature(m_, {}).code(), Code::kPermissionDenied);
  // The same bytes under another algorithm name are another key.
  trusted = {{"ecdsa-p256-sha256", key_.PublicKey(), "x"}};
  EXPECT_EQ(VerifyManifestSignature(m_, trusted).code(), Code::kPermissionDenied);
  // A re-signing by someone else, with their key in the manifest, is untrusted too.
  Manifest forged = m_;
  forged.public_key = other.PublicKey();
  std::string body = forged.SignedBody();
  forged.signature = std::move(other.Sign(Bytes(body))).value();
  EXPECT_EQ(VerifyManifestSignature(forged, trusted_).code(), Code::kPermissionDenied);
}

TEST_F(ManifestTest, MalformedEcdsaSignatureIsCorruption) {
  Manifest m = m_;
  m.algorithm = "ecdsa-p256-sha256";
  m.public_key.assign(65, 0x04);  // not a curve point
  std::vector<TrustedKey> trusted = {{"ecdsa-p256-sha256", m.public_key, "x"}};
  EXPECT_EQ(VerifyManifestSignature(m, trusted).code(), Code::kCorruption);
}

TEST_F(ManifestTest, ParseRefusesMalformedManifests) {
  std::vector<std::pair<std::string, std::function<void(json&)>>> cases = {
      {"unknown field", [](json& j) { j["extra"] = 1; }},
      {"unknown entry field", [](json& j) { j["entries"][0]["mode"] = 493; }},
      {"missing field", [](json& j) { j.erase("signed_at"); }},
      {"missing entry field", [](json& j) { j["entries"][2].erase("blocks"); }},
      {"wrong format", [](json& j) { j["format"] = "modelvault"; }},
      {"wrong type", [](json& j) { j["version"] = "3"; }},
      {"negative", [](json& j) { j["entries"][2]["size"] = -1; }},
      {"float", [](json& j) { j["version"] = 3.5; }},
      {"version 0", [](json& j) { j["version"] = 0; }},
      {"bad time", [](json& j) { j["signed_at"] = "yesterday"; }},
      {"bad block size", [](json& j) { j["block_size"] = 5000; }},
      {"bad algorithm", [](json& j) { j["algorithm"] = "rsa"; }},
      {"short key", [](json& j) { j["public_key"] = "AAAA"; }},
      {"bad base64", [](json& j) { j["signature"] = "!!"; }},
      {"short signature", [](json& j) { j["signature"] = "AAAA"; }},
      {"bad volume id", [](json& j) { j["volume_id"] = "11"; }},
      {"uppercase hex", [](json& j) { j["volume_id"] = std::string(32, 'A'); }},
      {"bad kind", [](json& j) { j["entries"][0]["kind"] = "fifo"; }},
      {"dir with size", [](json& j) { j["entries"][0]["size"] = 1; }},
      {"file_id on dir", [](json& j) { j["entries"][0]["file_id"] = std::string(32, '0'); }},
      {"blocks mismatch", [](json& j) { j["entries"][2]["blocks"] = 3; }},
      {"cut tail", [](json& j) { j["entries"][2]["size"] = 32 + 4124 + 10; }},
      {"cut header", [](json& j) { j["entries"][4]["size"] = 20; }},
      {"dotdot", [](json& j) { j["entries"][3]["path"] = "../CCCC"; }},
      {"dot", [](json& j) { j["entries"][3]["path"] = "./CCCC"; }},
      {"absolute", [](json& j) { j["entries"][3]["path"] = "/CCCC"; }},
      {"empty component", [](json& j) { j["entries"][2]["path"] = "AAAA//BBBB"; }},
      {"trailing slash", [](json& j) { j["entries"][3]["path"] = "CCCC/"; }},
      {"empty path", [](json& j) { j["entries"][0]["path"] = ""; }},
      {"control char", [](json& j) { j["entries"][3]["path"] = "CC\nCC"; }},
      {"reserved", [](json& j) { j["entries"][3]["path"] = ".mvhashes"; }},
      {"duplicate path", [](json& j) { j["entries"][4]["path"] = "CCCC"; }},
      {"unsorted", [](json& j) { std::swap(j["entries"][3], j["entries"][4]); }},
      {"no parent", [](json& j) { j["entries"].erase(0); }},
      {"parent not dir", [](json& j) { j["entries"][0]["kind"] = "other"; }},
      {"entries not array", [](json& j) { j["entries"] = json::object(); }},
  };
  for (auto& [what, edit] : cases) {
    json j = AsJson();
    edit(j);
    auto parsed = ParseJson(j);
    ASSERT_FALSE(parsed.ok()) << what;
    EXPECT_EQ(parsed.status().code(), Code::kCorruption)
        << what << ": " << parsed.status().ToString();
    EXPECT_EQ(parsed.status().message().rfind("M: ", 0), 0u) << parsed.status().ToString();
    EXPECT_EQ(parsed.status().message().find('\n'), std::string::npos) << what;
  }
}

TEST_F(ManifestTest, ParseRefusesOtherSyntax) {
  EXPECT_EQ(Manifest::Parse("", "M").status().code(), Code::kCorruption);
  EXPECT_EQ(Manifest::Parse("[]", "M").status().code(), Code::kCorruption);
  EXPECT_EQ(Manifest::Parse("{\"format\":", "M").status().code(), Code::kCorruption);
  // A syntax error names the file and the line, as for the header.
  auto broken = Manifest::Parse("{\n\"format\": 1,\n,\n}", "M");
  EXPECT_EQ(broken.status().message().rfind("M: line 3: ", 0), 0u) << broken.status().ToString();
  // A key named twice: parsers disagree on which wins, so neither does.
  std::string text = m_.Serialize();
  text.insert(1, "\"version\": 4,");
  auto dup = Manifest::Parse(text, "M");
  EXPECT_EQ(dup.status().code(), Code::kCorruption);
  EXPECT_NE(dup.status().message().find("twice"), std::string::npos) << dup.status().ToString();
  json j = AsJson();
  j["version_format"] = 2;
  EXPECT_EQ(ParseJson(j).status().code(), Code::kUnsupported);
}

TEST(SignedDirInternalTest, Names) {
  for (const char* name : {".mvmanifest", ".mvhashes", ".mvfrozen", ".mvmanifest.tmp",
                           "modelvault.json", "modelvault.json.tmp", "modelvault.lock"}) {
    EXPECT_TRUE(IsSignedDirInternal(name)) << name;
  }
  for (const char* name : {".mvdir", "AbC", ".mvmanifestx", ".Labc.name", "modelvault"}) {
    EXPECT_FALSE(IsSignedDirInternal(name)) << name;
  }
}

}  // namespace
}  // namespace modelvault::volume
