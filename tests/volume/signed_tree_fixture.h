// SignedTreeTest: a fixture that builds a real encrypted backing tree (directory IDs,
// encoded and long names with sidecars, content files written through FileContent,
// symlinks, an empty and a never-written file), signs it with HashSignedTree and an Ed25519
// key, and offers raw access for the attack tests in signed_tree_test.cc.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "crypto/ed25519.h"
#include "crypto/hex.h"
#include "tests/volume/content_test_util.h"
#include "volume/dir_id.h"
#include "volume/manifest.h"
#include "volume/name_codec.h"

namespace modelvault::volume::test {

inline constexpr uint32_t kTreeBs = 4096;
inline constexpr uint64_t kStored = kTreeBs + kBlockOverhead;

class SignedTreeTest : public ::testing::Test {
 protected:
  SignedTreeTest()
      : keys_(TestKeys()),
        names_(keys_),
        layout_(kTreeBs),
        key_(std::move(crypto::Ed25519PrivateKey::Generate()).value()),
        rng_(7) {}

  void SetUp() override {
    root_ = dir_.path();
    // A store root: its header and lock are not entries of a signed root.
    WriteText("modelvault.json", "{}");
    WriteText("modelvault.lock", "");
    root_id_ = MakeDirId("");
    AddFile("", root_id_, "weights.bin", 3 * kTreeBs + 100);
    AddFile("", root_id_, "tokenizer.bin", 2 * kTreeBs + 7);
    AddFile("", root_id_, "aligned.bin", 2 * kTreeBs);
    AddFile("", root_id_, "empty", 0);  // header only: 32 bytes
    paths_["zero"] = Encode("", root_id_, "zero");
    UniqueFd zero = OpenRw(Abs(paths_["zero"]));  // never written: 0 bytes, no header
    std::string sub = AddDir("", root_id_, "sub");
    DirId sub_id = dir_ids_[sub];
    AddFile(sub, sub_id, "config.json", 300);
    AddFile(sub, sub_id, std::string(200, 'x'), 5000);  // a long name with a sidecar
    std::string deep = AddDir(sub, sub_id, "deep");
    AddFile(deep, dir_ids_[deep], "a", 1);
    AddSymlink("", root_id_, "link", "weights.bin");
    Sign();
  }

  std::string Abs(const std::string& rel) const { return root_ + "/" + rel; }
  std::string Join(const std::string& dir, const std::string& name) const {
    return dir.empty() ? name : dir + "/" + name;
  }
  void WriteText(const std::string& rel, const std::string& text) {
    ASSERT_TRUE(WriteFileAtomically(
                    Abs(rel), {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, 0600)
                    .ok());
  }
  std::string ReadText(const std::string& rel) {
    auto bytes = ReadFileBytes(Abs(rel), 1 << 26);
    EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
    return bytes.ok() ? std::string(bytes->begin(), bytes->end()) : "";
  }

  DirId MakeDirId(const std::string& rel) {
    DirId id = std::move(NewDirId()).value();
    UniqueFd fd(open(rel.empty() ? root_.c_str() : Abs(rel).c_str(), O_RDONLY | O_DIRECTORY));
    EXPECT_TRUE(WriteDirId(fd.get(), id, rel).ok());
    dir_ids_[rel] = id;
    return id;
  }

  // The backing path of `plain` in `dir`; a long name gets its sidecar here.
  std::string Encode(const std::string& dir, const DirId& id, const std::string& plain) {
    EncodedName n = std::move(names_.Encode(id, plain)).value();
    std::string rel = Join(dir, n.backing);
    if (n.is_long()) WriteText(NameCodec::LongNameSidecar(rel), n.sealed);
    return rel;
  }

  void AddFile(const std::string& dir, const DirId& id, const std::string& plain, size_t size) {
    std::string rel = Encode(dir, id, plain);
    UniqueFd fd = OpenRw(Abs(rel));
    auto fc = FileContent::Create(fd.get(), keys_, layout_, rel);
    ASSERT_TRUE(fc.ok()) << fc.status().ToString();
    auto data = RandomBytes(rng_, size);
    ASSERT_TRUE((*fc)->Write(fd.get(), data, 0).ok());
    paths_[plain] = rel;
  }

  std::string AddDir(const std::string& dir, const DirId& id, const std::string& plain) {
    std::string rel = Encode(dir, id, plain);
    EXPECT_EQ(mkdir(Abs(rel).c_str(), 0700), 0);
    MakeDirId(rel);
    paths_[plain] = rel;
    return rel;
  }

  void AddSymlink(const std::string& dir, const DirId& id, const std::string& plain,
                  const std::string& target) {
    std::string rel = Encode(dir, id, plain);
    std::string sealed = std::move(names_.EncodeLinkTarget(target)).value();
    EXPECT_EQ(symlink(sealed.c_str(), Abs(rel).c_str()), 0);
    paths_[plain] = rel;
  }

  // Hashes the tree, signs the manifest and writes .mvmanifest.
  void Sign() {
    auto entries = HashSignedTree(root_, kTreeBs, [&](uint64_t done, uint64_t total) {
      progress_.push_back({done, total});
    });
    ASSERT_TRUE(entries.ok()) << entries.status().ToString();
    manifest_ = Manifest{};
    manifest_.volume_id.bytes.fill(0x5a);
    manifest_.signed_at = "2026-11-26T00:30:00Z";
    manifest_.block_size = kTreeBs;
    manifest_.algorithm = "ed25519";
    manifest_.public_key = key_.PublicKey();
    manifest_.entries = std::move(entries).value();
    std::string body = manifest_.SignedBody();
    manifest_.signature =
        std::move(key_.Sign({reinterpret_cast<const uint8_t*>(body.data()), body.size()})).value();
    WriteText(kManifestFile, manifest_.Serialize());
    trusted_ = {{"ed25519", key_.PublicKey(), "test"}};
  }

  // What a verifier finds: the signature's verdict on the file as it is now, and the tree.
  std::vector<VerifyProblem> Verify() {
    auto m = ReadManifest(root_);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok()) return {{"", m.status().message()}};
    std::vector<VerifyProblem> out;
    Status sig = VerifyManifestSignature(*m, trusted_);
    if (!sig.ok()) out.push_back({"", sig.message()});
    auto tree = VerifySignedTree(root_, *m, nullptr);
    EXPECT_TRUE(tree.ok()) << tree.status().ToString();
    if (tree.ok()) out.insert(out.end(), tree->begin(), tree->end());
    return out;
  }

  static std::string Describe(const std::vector<VerifyProblem>& problems) {
    std::string out;
    for (const auto& p : problems) out += "  " + p.path + ": " + p.what + "\n";
    return out.empty() ? "  (none)\n" : out;
  }

  // `problems` has one whose path is `path` and whose text contains `what`.
  static ::testing::AssertionResult Has(const std::vector<VerifyProblem>& problems,
                                        const std::string& path, const std::string& what) {
    for (const auto& p : problems) {
      if (p.path == path && p.what.find(what) != std::string::npos) {
        return ::testing::AssertionSuccess();
      }
    }
    return ::testing::AssertionFailure()
           << "no problem \"" << path << ": ..." << what << "...\" among\n"
           << Describe(problems);
  }

  std::string HashesFile(const std::string& plain) {
    const ManifestEntry* e = manifest_.Find(paths_[plain]);
    EXPECT_NE(e, nullptr);
    return std::string(kHashesDir) + "/" + crypto::HexEncode(e->file_id.span());
  }

  TempDir dir_;
  std::string root_;
  std::shared_ptr<const VolumeKeys> keys_;
  NameCodec names_;
  ContentLayout layout_;
  crypto::Ed25519PrivateKey key_;
  std::mt19937_64 rng_;
  DirId root_id_;
  std::map<std::string, DirId> dir_ids_;
  std::map<std::string, std::string> paths_;  // plain name -> backing path
  Manifest manifest_;
  std::vector<TrustedKey> trusted_;
  std::vector<std::pair<uint64_t, uint64_t>> progress_;
};

}  // namespace modelvault::volume::test
