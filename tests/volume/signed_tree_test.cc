// HashSignedTree and VerifySignedTree (volume/manifest.h) on a real encrypted backing tree:
// a clean tree verifies, a copy of it verifies, and every attack on the ciphertext, the
// names, the hash lists or the manifest is caught by the tree check or the signature.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "tests/volume/signed_tree_fixture.h"

namespace modelvault::volume::test {
namespace {

using Kind = ManifestEntry::Kind;

TEST_F(SignedTreeTest, EntriesDescribeTheTree) {
  const auto& entries = manifest_.entries;
  for (size_t i = 1; i < entries.size(); ++i) EXPECT_LT(entries[i - 1].path, entries[i].path);
  for (const auto& e : entries) {
    EXPECT_NE(e.path, "modelvault.json");
    EXPECT_NE(e.path, "modelvault.lock");
    EXPECT_NE(e.path, kManifestFile);
    EXPECT_NE(e.path.rfind(kHashesDir, 0), 0u) << e.path;
  }
  const ManifestEntry* w = manifest_.Find(paths_["weights.bin"]);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->kind, Kind::kFile);
  EXPECT_EQ(w->blocks, 4u);
  EXPECT_EQ(w->size, layout_.BackingSize(3 * kTreeBs + 100));
  // The root is the Merkle root of MerkleLeaf over each stored block, read here directly.
  UniqueFd fd = OpenRo(Abs(paths_["weights.bin"]));
  std::vector<crypto::Digest> leaves;
  for (uint64_t b = 0; b < 4; ++b) {
    leaves.push_back(MerkleLeaf(RawRead(fd.get(), layout_.BlockOffset(b), kStored)));
  }
  EXPECT_EQ(w->digest, MerkleRoot(leaves));
  std::string list = ReadText(HashesFile("weights.bin"));
  ASSERT_EQ(list.size(), 4 * 32u);
  EXPECT_EQ(0, std::memcmp(list.data(), leaves.data(), list.size()));

  const ManifestEntry* empty = manifest_.Find(paths_["empty"]);
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->size, 32u);
  EXPECT_EQ(empty->blocks, 0u);
  EXPECT_EQ(empty->digest, MerkleRoot({}));
  EXPECT_EQ(ReadText(HashesFile("empty")), "");
  const ManifestEntry* zero = manifest_.Find(paths_["zero"]);
  ASSERT_NE(zero, nullptr);
  EXPECT_EQ(zero->size, 0u);
  EXPECT_EQ(zero->file_id, FileId{});

  const ManifestEntry* link = manifest_.Find(paths_["link"]);
  ASSERT_NE(link, nullptr);
  EXPECT_EQ(link->kind, Kind::kSymlink);
  EXPECT_EQ(manifest_.Find(".mvdir")->kind, Kind::kOther);
  EXPECT_EQ(manifest_.Find(paths_["sub"])->kind, Kind::kDir);
  std::string long_rel = paths_[std::string(200, 'x')];
  EXPECT_NE(long_rel.find("/.L"), std::string::npos);
  EXPECT_EQ(manifest_.Find(long_rel)->kind, Kind::kFile);
  EXPECT_EQ(manifest_.Find(NameCodec::LongNameSidecar(long_rel))->kind, Kind::kOther);
  EXPECT_NE(manifest_.Find(paths_["deep"] + "/.mvdir"), nullptr);
}

TEST_F(SignedTreeTest, ProgressCountsEveryByte) {
  ASSERT_FALSE(progress_.empty());
  uint64_t total = progress_.back().second;
  EXPECT_EQ(progress_.back().first, total);
  for (auto [done, t] : progress_) {
    EXPECT_LE(done, t);
    EXPECT_EQ(t, total);
  }
  EXPECT_GT(total, 4 * kStored);
}

TEST_F(SignedTreeTest, CleanTreeVerifies) { EXPECT_TRUE(Verify().empty()) << Describe(Verify()); }

TEST_F(SignedTreeTest, BackupCopyVerifies) {
  TempDir copy;
  std::filesystem::copy(
      root_, copy.path(),
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  root_ = copy.path();
  EXPECT_TRUE(Verify().empty()) << Describe(Verify());
}

TEST_F(SignedTreeTest, SigningAgainIsStableAndDropsStaleHashLists) {
  WriteText(std::string(kHashesDir) + "/00112233445566778899aabbccddeeff", "junk");
  std::vector<ManifestEntry> before = manifest_.entries;
  Sign();
  ASSERT_EQ(manifest_.entries.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(manifest_.entries[i].path, before[i].path);
    EXPECT_EQ(manifest_.entries[i].digest, before[i].digest);
  }
  EXPECT_NE(
      access(Abs(std::string(kHashesDir) + "/00112233445566778899aabbccddeeff").c_str(), F_OK), 0);
  EXPECT_TRUE(Verify().empty()) << Describe(Verify());
}

TEST_F(SignedTreeTest, FlippedCiphertextByte) {
  UniqueFd fd = OpenRw(Abs(paths_["weights.bin"]));
  RawFlip(fd.get(), layout_.BlockOffset(2) + 100);
  auto p = Verify();
  EXPECT_TRUE(Has(p, paths_["weights.bin"], "content differs from the signed content (block 2)"));
  EXPECT_EQ(p.size(), 1u) << Describe(p);
}

// A file of several hashing chunks, each split over the cores: every leaf is in place, and
// a flipped byte in the last block of a later chunk's second part is caught by number.
TEST_F(SignedTreeTest, LargeFileIsHashedInChunksAndParts) {
  const uint64_t blocks = 2 * (8 << 20) / kStored + 77;  // two whole chunks and a short one
  AddFile("", root_id_, "large.bin", blocks * kTreeBs - 5);
  Sign();
  const ManifestEntry* e = manifest_.Find(paths_["large.bin"]);
  ASSERT_NE(e, nullptr);
  ASSERT_EQ(e->blocks, blocks);
  UniqueFd fd = OpenRo(Abs(paths_["large.bin"]));
  std::vector<crypto::Digest> leaves;
  for (uint64_t b = 0; b < blocks; ++b) {
    uint64_t len = b + 1 < blocks ? kStored : kTreeBs - 5 + kBlockOverhead;
    leaves.push_back(MerkleLeaf(RawRead(fd.get(), layout_.BlockOffset(b), len)));
  }
  EXPECT_EQ(e->digest, MerkleRoot(leaves));
  std::string list = ReadText(HashesFile("large.bin"));
  ASSERT_EQ(list.size(), blocks * 32);
  EXPECT_EQ(0, std::memcmp(list.data(), leaves.data(), list.size()));
  EXPECT_TRUE(Verify().empty()) << Describe(Verify());

  const uint64_t bad = (8 << 20) / kStored * 2 - 1;  // the last block of the second chunk
  UniqueFd rw = OpenRw(Abs(paths_["large.bin"]));
  RawFlip(rw.get(), layout_.BlockOffset(bad) + 7);
  auto p = Verify();
  EXPECT_TRUE(Has(p, paths_["large.bin"],
                  "content differs from the signed content (block " + std::to_string(bad) + ")"));
  EXPECT_EQ(p.size(), 1u) << Describe(p);
}

TEST_F(SignedTreeTest, SwappedFiles) {
  std::string a = Abs(paths_["weights.bin"]), b = Abs(paths_["tokenizer.bin"]);
  ASSERT_EQ(rename(a.c_str(), (a + "x").c_str()), 0);
  ASSERT_EQ(rename(b.c_str(), a.c_str()), 0);
  ASSERT_EQ(rename((a + "x").c_str(), b.c_str()), 0);
  auto p = Verify();
  EXPECT_TRUE(Has(p, paths_["weights.bin"], "file ID is"));
  EXPECT_TRUE(Has(p, paths_["tokenizer.bin"], "file ID is"));
  EXPECT_TRUE(Has(p, paths_["tokenizer.bin"], "content differs"));
}

TEST_F(SignedTreeTest, DeletedFile) {
  ASSERT_EQ(unlink(Abs(paths_["config.json"]).c_str()), 0);
  auto p = Verify();
  EXPECT_TRUE(Has(p, paths_["config.json"], "missing"));
  EXPECT_EQ(p.size(), 1u) << Describe(p);
}

TEST_F(SignedTreeTest, AddedFile) {
  AddFile(paths_["sub"], dir_ids_[paths_["sub"]], "planted", 10);
  auto p = Verify();
  EXPECT_TRUE(Has(p, paths_["planted"], "not in the manifest"));
  EXPECT_EQ(p.size(), 1u) << Describe(p);
}

TEST_F(SignedTreeTest, TruncatedAtABlockBoundary) {
  UniqueFd fd = OpenRw(Abs(paths_["weights.bin"]));
  Resize(fd.get(), layout_.BlockOffset(3));
  auto p = Verify();
  EXPECT_TRUE(Has(p, paths_["weights.bin"], "size is"));
  EXPECT_TRUE(Has(p, paths_["weights.bin"], "content differs from the signed content (block 3)"));
}

TEST_F(SignedTreeTest, ExtendedByAValidLookingBlock) {
  UniqueFd fd = OpenRw(Abs(paths_["aligned.bin"]));
  auto block = RawRead(fd.get(), layout_.BlockOffset(1), kStored);
  RawWrite(fd.get(), layout_.BlockOffset(2), block);
  auto p = Verify();
  EXPECT_TRUE(Has(p, paths_["aligned.bin"], "size is"));
  EXPECT_TRUE(Has(p, paths_["aligned.bin"], "content differs from the signed content (block 2)"));
}

TEST_F(SignedTreeTest, ReplacedHashList) {
  std::string list = ReadText(HashesFile("weights.bin"));
  list[40] ^= 1;
  ASSERT_EQ(unlink(Abs(HashesFile("weights.bin")).c_str()), 0);
  WriteText(HashesFile("weights.bin"), list);
  auto p = Verify();
  EXPECT_TRUE(Has(p, paths_["weights.bin"], "does not match the signed Merkle root"));
  EXPECT_EQ(p.size(), 1u) << Describe(p);
}

TEST_F(SignedTreeTest, ContentAndHashListChangedTogether) {
  // An attacker who rewrites a block and its leaf still cannot match the signed root.
  UniqueFd fd = OpenRw(Abs(paths_["weights.bin"]));
  RawFlip(fd.get(), layout_.BlockOffset(0) + 50);
  crypto::Digest leaf = MerkleLeaf(RawRead(fd.get(), layout_.BlockOffset(0), kStored));
  std::string list = ReadText(HashesFile("weights.bin"));
  list.replace(0, 32, reinterpret_cast<const char*>(leaf.data()), 32);
  ASSERT_EQ(unlink(Abs(HashesFile("weights.bin")).c_str()), 0);
  WriteText(HashesFile("weights.bin"), list);
  auto p = Verify();
  EXPECT_TRUE(Has(p, paths_["weights.bin"], "content differs from the signed content"));
  EXPECT_TRUE(Has(p, paths_["weights.bin"], "does not match the signed Merkle root"));
}

TEST_F(SignedTreeTest, MissingAndPlantedHashLists) {
  ASSERT_EQ(unlink(Abs(HashesFile("tokenizer.bin")).c_str()), 0);
  WriteText(std::string(kHashesDir) + "/ffff", "x");
  auto p = Verify();
  EXPECT_TRUE(Has(p, paths_["tokenizer.bin"], "is missing"));
  EXPECT_TRUE(Has(p, std::string(kHashesDir) + "/ffff", "not in the manifest"));
}

TEST_F(SignedTreeTest, EditedManifest) {
  std::string text = ReadText(kManifestFile);
  size_t at = text.find("\"signed_at\": \"2026");
  ASSERT_NE(at, std::string::npos);
  text.replace(at + 14, 4, "2027");
  WriteText(kManifestFile, text);
  auto p = Verify();
  EXPECT_TRUE(Has(p, "", "signature does not verify"));
}

TEST_F(SignedTreeTest, ManifestSignedByAnUntrustedKey) {
  trusted_ = {{"ed25519", std::move(crypto::Ed25519PrivateKey::Generate())->PublicKey(), "x"}};
  auto p = Verify();
  EXPECT_TRUE(Has(p, "", "signed by an untrusted key sha256:"));
}

TEST_F(SignedTreeTest, SwappedSidecar) {
  std::string sidecar = NameCodec::LongNameSidecar(paths_[std::string(200, 'x')]);
  std::string text = ReadText(sidecar);
  text[text.size() / 2] = text[text.size() / 2] == 'A' ? 'B' : 'A';
  WriteText(sidecar, text);
  auto p = Verify();
  EXPECT_TRUE(Has(p, sidecar, "content differs from the signed content"));
}

TEST_F(SignedTreeTest, RetargetedSymlink) {
  std::string link = Abs(paths_["link"]);
  ASSERT_EQ(unlink(link.c_str()), 0);
  std::string sealed = std::move(names_.EncodeLinkTarget("tokenizer.bin")).value();
  ASSERT_EQ(symlink(sealed.c_str(), link.c_str()), 0);
  auto p = Verify();
  EXPECT_TRUE(Has(p, paths_["link"], "link target differs"));
}

TEST_F(SignedTreeTest, FileReplacedByDirectoryAndDirIdRemoved) {
  ASSERT_EQ(unlink(Abs(paths_["config.json"]).c_str()), 0);
  ASSERT_EQ(mkdir(Abs(paths_["config.json"]).c_str(), 0700), 0);
  ASSERT_EQ(unlink(Abs(paths_["deep"] + "/.mvdir").c_str()), 0);
  auto p = Verify();
  EXPECT_TRUE(Has(p, paths_["config.json"], "is a dir, signed as a file"));
  EXPECT_TRUE(Has(p, paths_["deep"] + "/.mvdir", "missing"));
}

TEST_F(SignedTreeTest, EditedFileHeader) {
  UniqueFd fd = OpenRw(Abs(paths_["tokenizer.bin"]));
  RawFlip(fd.get(), 9);  // a reserved byte: the reader refuses such a file
  auto p = Verify();
  EXPECT_TRUE(Has(p, paths_["tokenizer.bin"], "not a modelvault version-1 file header"));
}

TEST_F(SignedTreeTest, BlockSizeMismatchIsCaught) {
  auto m = ReadManifest(root_);
  ASSERT_TRUE(m.ok());
  m->block_size = 2 * kTreeBs;  // what a manifest made for another store would say
  auto p = VerifySignedTree(root_, *m, nullptr);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(Has(*p, paths_["weights.bin"], "content differs"));
}

TEST_F(SignedTreeTest, NestedSignedDirectoriesAreRefused) {
  WriteText(paths_["sub"] + "/" + kManifestFile, "{}");
  auto entries = HashSignedTree(root_, kTreeBs, nullptr);
  EXPECT_EQ(entries.status().code(), Code::kInvalidArgument);
  EXPECT_NE(entries.status().message().find("cannot nest"), std::string::npos);
}

TEST_F(SignedTreeTest, ForeignNamesAreRefusedWhenSigningAndReportedWhenVerifying) {
  WriteText("bad\x01name", "x");
  auto entries = HashSignedTree(root_, kTreeBs, nullptr);
  EXPECT_EQ(entries.status().code(), Code::kInvalidArgument);
  EXPECT_NE(entries.status().message().find("bad\\x01name"), std::string::npos)
      << entries.status().ToString();
  auto p = Verify();
  EXPECT_TRUE(Has(p, "bad\\x01name", "not in the manifest"));
}

TEST_F(SignedTreeTest, HardLinksShareOneHashList) {
  std::string rel =
      paths_["sub"] + "/" + std::move(names_.Encode(dir_ids_[paths_["sub"]], "hl"))->backing;
  ASSERT_EQ(link(Abs(paths_["config.json"]).c_str(), Abs(rel).c_str()), 0);
  Sign();
  EXPECT_TRUE(Verify().empty()) << Describe(Verify());
}

TEST_F(SignedTreeTest, CutFileIsRefusedWhenSigning) {
  UniqueFd fd = OpenRw(Abs(paths_["weights.bin"]));
  Resize(fd.get(), layout_.BlockOffset(3) + 10);
  auto entries = HashSignedTree(root_, kTreeBs, nullptr);
  EXPECT_EQ(entries.status().code(), Code::kCorruption);
  EXPECT_NE(entries.status().message().find(paths_["weights.bin"]), std::string::npos);
}

}  // namespace
}  // namespace modelvault::volume::test
