// Hostile backing files: flipped bytes, swapped, moved, copied and dropped blocks, cut files,
// foreign headers and a wrong key. Every read that touches a damaged block must return
// Corruption (EIO) and never bytes; blocks outside the damage keep reading correctly; and a
// write must not re-seal a damaged block it would have to merge with.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/volume/content_test_util.h"
#include "volume/content_layout.h"
#include "volume/file_content.h"

namespace modelvault::volume {
namespace {

using test::FdSize;
using test::OpenRw;
using test::RawFlip;
using test::RawRead;
using test::RawWrite;
using test::Resize;
using test::TempDir;
using test::TestKeys;

constexpr uint32_t kBs = 4096;
constexpr uint64_t kBlocks = 5;                 // four full blocks and a short one
constexpr uint64_t kSize = 4 * kBs + 100;       // plaintext size of the victim
constexpr uint64_t kLastLen = kSize - 4 * kBs;  // plaintext bytes in the short block

class TamperTest : public ::testing::Test {
 protected:
  TamperTest() : layout_(kBs), keys_(TestKeys()), rng_(11) {}

  void SetUp() override {
    data_ = test::RandomBytes(rng_, kSize);
    fc_ = Make("victim", data_, fd_);
    ASSERT_NE(fc_, nullptr);
  }

  // A file named `name` holding `data`, written through the codec.
  std::unique_ptr<FileContent> Make(const std::string& name, std::span<const uint8_t> data,
                                    UniqueFd& fd) {
    fd = OpenRw(dir_.File(name));
    auto fc = FileContent::Create(fd.get(), keys_, layout_, dir_.File(name));
    EXPECT_TRUE(fc.ok()) << fc.status().ToString();
    if (!fc.ok()) return nullptr;
    Status st = (*fc)->Write(fd.get(), data, 0);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return std::move(*fc);
  }

  // Loads the victim again, as a fresh mount would after the backing file was changed.
  void Reload() {
    fd_ = OpenRw(dir_.File("victim"));
    auto fc = FileContent::Load(fd_.get(), keys_, layout_, "victim");
    ASSERT_TRUE(fc.ok()) << fc.status().ToString();
    fc_ = std::move(*fc);
  }

  uint64_t StoredLen(uint64_t block) const {
    return (block + 1 < kBlocks ? kBs : kLastLen) + kBlockOverhead;
  }
  std::vector<uint8_t> StoredBlock(uint64_t block) {
    return RawRead(fd_.get(), layout_.BlockOffset(block), StoredLen(block));
  }

  // Reading [offset, offset + len) fails with Corruption.
  std::vector<uint8_t> ExpectCorrupt(uint64_t offset, uint64_t len) {
    std::vector<uint8_t> out(len, 0xa5);
    auto n = fc_->Read(fd_.get(), out, offset);
    EXPECT_FALSE(n.ok()) << "read of " << len << " bytes at " << offset << " returned " << *n;
    EXPECT_EQ(n.status().code(), Code::kCorruption) << n.status().ToString();
    EXPECT_EQ(n.status().ToErrno(), EIO);
    return out;
  }
  // Reading the damaged block fails, and no plaintext reaches the caller: the buffer must not
  // resemble any block of the original (a swapped or foreign block would decrypt to one).
  void ExpectBlockCorrupt(uint64_t block) {
    auto out = ExpectCorrupt(block * kBs, block + 1 < kBlocks ? kBs : kLastLen);
    for (uint64_t b = 0; b * kBs < data_.size(); ++b) {
      uint64_t n = std::min<uint64_t>(out.size(), data_.size() - b * kBs);
      uint64_t same = 0;
      for (uint64_t i = 0; i < n; ++i) same += out[i] == data_[b * kBs + i];
      EXPECT_LE(same, n / 8) << "plaintext of block " << b << " reached the caller";
    }
  }
  // Reading [offset, offset + len) returns exactly the original bytes.
  void ExpectIntact(uint64_t offset, uint64_t len) {
    std::vector<uint8_t> out(len);
    auto n = fc_->Read(fd_.get(), out, offset);
    ASSERT_TRUE(n.ok()) << "at " << offset << ": " << n.status().ToString();
    ASSERT_EQ(*n, len);
    EXPECT_TRUE(std::equal(out.begin(), out.end(), data_.begin() + static_cast<ptrdiff_t>(offset)));
  }
  void ExpectBlockIntact(uint64_t block) {
    ExpectIntact(block * kBs, block + 1 < kBlocks ? kBs : kLastLen);
  }
  // Only `bad` blocks fail; a read of the whole file fails too.
  void ExpectOnlyBlocksCorrupt(std::initializer_list<uint64_t> bad) {
    for (uint64_t b = 0; b < kBlocks; ++b) {
      SCOPED_TRACE("block " + std::to_string(b));
      if (std::find(bad.begin(), bad.end(), b) != bad.end()) {
        ExpectBlockCorrupt(b);
      } else {
        ExpectBlockIntact(b);
      }
    }
    ExpectCorrupt(0, kSize);
  }

  const ContentLayout layout_;
  TempDir dir_;
  std::shared_ptr<const VolumeKeys> keys_;
  std::mt19937_64 rng_;
  std::vector<uint8_t> data_;
  UniqueFd fd_;
  std::unique_ptr<FileContent> fc_;
};

TEST_F(TamperTest, UntouchedFileReadsBack) {
  ExpectIntact(0, kSize);
  for (uint64_t b = 0; b < kBlocks; ++b) ExpectBlockIntact(b);
}

// One flipped bit in the nonce, the ciphertext or the tag of a full or the short block.
TEST_F(TamperTest, FlippedByteInNonceCiphertextOrTag) {
  for (uint64_t block : {uint64_t{0}, uint64_t{2}, kBlocks - 1}) {
    uint64_t start = layout_.BlockOffset(block);
    uint64_t plain = StoredLen(block) - kBlockOverhead;
    struct Where {
      const char* what;
      uint64_t offset;
    };
    const Where places[] = {
        {"nonce first byte", start},
        {"nonce last byte", start + kNonceSize - 1},
        {"ciphertext first byte", start + kNonceSize},
        {"ciphertext middle byte", start + kNonceSize + plain / 2},
        {"ciphertext last byte", start + kNonceSize + plain - 1},
        {"tag first byte", start + kNonceSize + plain},
        {"tag last byte", start + StoredLen(block) - 1},
    };
    for (const Where& w : places) {
      SCOPED_TRACE("block " + std::to_string(block) + ", " + w.what);
      RawFlip(fd_.get(), w.offset, 0x80);
      ExpectOnlyBlocksCorrupt({block});
      // Reads that merely start or end inside the damaged block fail as well.
      if (block > 0) ExpectCorrupt(block * kBs - 3, 10);
      if (block + 1 < kBlocks) ExpectCorrupt((block + 1) * kBs - 3, 10);
      RawFlip(fd_.get(), w.offset, 0x80);
      ExpectBlockIntact(block);
      if (HasFatalFailure()) return;
    }
  }
}

// Every byte of the short last block and a spread of the bytes of a full one is covered by
// the authentication.
TEST_F(TamperTest, EveryStoredByteIsAuthenticated) {
  for (uint64_t i = 0; i < StoredLen(kBlocks - 1); ++i) {
    uint64_t at = layout_.BlockOffset(kBlocks - 1) + i;
    RawFlip(fd_.get(), at);
    ExpectCorrupt((kBlocks - 1) * kBs, 1);
    RawFlip(fd_.get(), at);
    if (HasFailure()) FAIL() << "stored byte " << i << " of the last block";
  }
  std::vector<uint64_t> positions;
  for (uint64_t i = 0; i < StoredLen(1); ++i) {
    if (i < 16 || i + 20 >= StoredLen(1) || i % 97 == 0) positions.push_back(i);
  }
  for (uint64_t i : positions) {
    uint64_t at = layout_.BlockOffset(1) + i;
    RawFlip(fd_.get(), at, 0x10);
    ExpectCorrupt(kBs + 100, 1);
    RawFlip(fd_.get(), at, 0x10);
    if (HasFailure()) FAIL() << "stored byte " << i << " of block 1";
  }
  ExpectIntact(0, kSize);
}

TEST_F(TamperTest, SwappedBlocks) {
  auto b0 = StoredBlock(0);
  auto b2 = StoredBlock(2);
  RawWrite(fd_.get(), layout_.BlockOffset(0), b2);
  RawWrite(fd_.get(), layout_.BlockOffset(2), b0);
  ExpectOnlyBlocksCorrupt({0, 2});
}

// Even blocks with equal plaintext cannot trade places: the index is bound in.
TEST_F(TamperTest, SwappedBlocksWithEqualPlaintext) {
  std::copy(data_.begin(), data_.begin() + kBs, data_.begin() + kBs);
  ASSERT_TRUE(fc_->Write(fd_.get(), std::span(data_).first(2 * kBs), 0).ok());
  ExpectIntact(0, kSize);
  auto b0 = StoredBlock(0);
  auto b1 = StoredBlock(1);
  RawWrite(fd_.get(), layout_.BlockOffset(0), b1);
  RawWrite(fd_.get(), layout_.BlockOffset(1), b0);
  ExpectOnlyBlocksCorrupt({0, 1});
}

TEST_F(TamperTest, BlockMovedToAnotherPosition) {
  RawWrite(fd_.get(), layout_.BlockOffset(3), StoredBlock(1));
  ExpectOnlyBlocksCorrupt({3});
}

// Dropping block 1 shifts every later block down by one position.
TEST_F(TamperTest, BlockDroppedFromTheMiddle) {
  auto rest = RawRead(fd_.get(), layout_.BlockOffset(2), FdSize(fd_.get()));
  RawWrite(fd_.get(), layout_.BlockOffset(1), rest);
  Resize(fd_.get(), FdSize(fd_.get()) - layout_.stored_block_size());
  for (uint64_t b = 1; b + 1 < kBlocks; ++b) ExpectCorrupt(b * kBs, 1);
  ExpectBlockIntact(0);
}

TEST_F(TamperTest, BlockAppendedPastTheEnd) {
  // Make the last block full first, so that an appended block extends the plaintext size.
  data_.resize(kBlocks * kBs, 0x33);
  ASSERT_TRUE(fc_->Write(fd_.get(), std::span(data_).subspan(kSize), kSize).ok());
  auto first = RawRead(fd_.get(), layout_.BlockOffset(0), layout_.stored_block_size());
  RawWrite(fd_.get(), layout_.BlockOffset(kBlocks), first);
  ExpectIntact(0, kBlocks * kBs);
  ExpectCorrupt(kBlocks * kBs, 1);
  ExpectCorrupt(0, (kBlocks + 1) * kBs);
}

// Same key, same plaintext, same index, another file: the file ID is bound in.
TEST_F(TamperTest, BlockCopiedFromAnotherFile) {
  UniqueFd other_fd;
  auto other = Make("other", data_, other_fd);
  ASSERT_NE(other, nullptr);
  auto foreign = RawRead(other_fd.get(), layout_.BlockOffset(2), StoredLen(2));
  RawWrite(fd_.get(), layout_.BlockOffset(2), foreign);
  ExpectOnlyBlocksCorrupt({2});
}

TEST_F(TamperTest, WholeBodyOfAnotherFileUnderThisHeader) {
  UniqueFd other_fd;
  auto other = Make("other", data_, other_fd);
  ASSERT_NE(other, nullptr);
  auto body = RawRead(other_fd.get(), kFileHeaderSize, FdSize(other_fd.get()));
  RawWrite(fd_.get(), kFileHeaderSize, body);
  ExpectOnlyBlocksCorrupt({0, 1, 2, 3, 4});
}

TEST_F(TamperTest, HeaderOfAnotherFile) {
  UniqueFd other_fd;
  auto other = Make("other", data_, other_fd);
  ASSERT_NE(other, nullptr);
  RawWrite(fd_.get(), 0, RawRead(other_fd.get(), 0, kFileHeaderSize));
  ASSERT_NO_FATAL_FAILURE(Reload());
  EXPECT_EQ(fc_->file_id(), other->file_id());
  ExpectOnlyBlocksCorrupt({0, 1, 2, 3, 4});
}

TEST_F(TamperTest, FlippedFileIdInHeader) {
  RawFlip(fd_.get(), 16 + 7);
  ASSERT_NO_FATAL_FAILURE(Reload());
  ExpectOnlyBlocksCorrupt({0, 1, 2, 3, 4});
}

TEST_F(TamperTest, WrongMasterKey) {
  auto fc = FileContent::Load(fd_.get(), TestKeys(0x43), layout_, "victim");
  ASSERT_TRUE(fc.ok()) << fc.status().ToString();
  fc_ = std::move(*fc);
  ExpectOnlyBlocksCorrupt({0, 1, 2, 3, 4});
}

// A hole (an all-zero stored block, as a sparse backing file reads) is not zeros.
TEST_F(TamperTest, ZeroedBlockIsNotAHole) {
  RawWrite(fd_.get(), layout_.BlockOffset(1), std::vector<uint8_t>(StoredLen(1), 0));
  ExpectOnlyBlocksCorrupt({1});
}

TEST_F(TamperTest, CutInTheMiddleOfTheLastBlock) {
  Resize(fd_.get(), layout_.BlockOffset(kBlocks - 1) + kBlockOverhead + kLastLen / 2);
  ExpectCorrupt((kBlocks - 1) * kBs, 1);
  ExpectCorrupt(0, kSize);
  for (uint64_t b = 0; b + 1 < kBlocks; ++b) ExpectBlockIntact(b);
}

TEST_F(TamperTest, CutInTheMiddleOfAFullLastBlock) {
  Resize(fd_.get(), layout_.BlockOffset(3) + layout_.stored_block_size() / 2);
  ExpectCorrupt(3 * kBs, 1);
  ExpectCorrupt(0, kSize);
  for (uint64_t b = 0; b < 3; ++b) ExpectBlockIntact(b);
}

TEST_F(TamperTest, CutInsideTheTag) {
  for (uint64_t cut = 1; cut < kTagSize; ++cut) {
    SCOPED_TRACE(cut);
    UniqueFd fd;
    auto fc = Make("cut" + std::to_string(cut), data_, fd);
    ASSERT_NE(fc, nullptr);
    Resize(fd.get(), FdSize(fd.get()) - cut);
    std::vector<uint8_t> out(kSize);
    auto n = fc->Read(fd.get(), out, 0);
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.status().code(), Code::kCorruption);
    out.resize(10);
    n = fc->Read(fd.get(), out, 0);
    EXPECT_TRUE(n.ok()) << "block 0 is untouched: " << n.status().ToString();
  }
}

// 1..28 bytes of a last block (no ciphertext at all) are not counted in the size, but a read
// that reaches the end of the file reports the cut instead of a clean end of file.
TEST_F(TamperTest, CutLeaving1To28BytesOfTheLastBlock) {
  for (uint64_t left = 1; left <= kBlockOverhead; ++left) {
    SCOPED_TRACE(left);
    Resize(fd_.get(), layout_.BlockOffset(kBlocks - 1) + left);
    auto size = fc_->Size(fd_.get());
    ASSERT_TRUE(size.ok());
    ASSERT_EQ(*size, (kBlocks - 1) * kBs);
    ExpectCorrupt((kBlocks - 1) * kBs - 1, 1);  // the last counted byte
    ExpectCorrupt(0, kSize);                    // the whole file
    ExpectCorrupt((kBlocks - 1) * kBs, 1);      // at the apparent end of file
    ExpectIntact(0, kBs);                       // a read that stops short of the end
    ExpectIntact(kBs, 2 * kBs);
  }
}

// The same for a file of one short block cut to nothing but part of its nonce and tag.
TEST_F(TamperTest, CutLeavingOnlyPartOfTheOnlyBlock) {
  UniqueFd fd;
  std::vector<uint8_t> small(50, 9);
  auto fc = Make("small", small, fd);
  ASSERT_NE(fc, nullptr);
  Resize(fd.get(), kFileHeaderSize + 5);
  std::vector<uint8_t> out(10);
  auto n = fc->Read(fd.get(), out, 0);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Code::kCorruption);
}

TEST_F(TamperTest, BadMagicOrVersionFailsToLoadAndNamesTheFile) {
  struct Case {
    const char* what;
    uint64_t offset;
  };
  for (const Case& c :
       {Case{"magic", 0}, Case{"magic", 3}, Case{"version", 4}, Case{"version", 5}}) {
    SCOPED_TRACE(c.what);
    RawFlip(fd_.get(), c.offset, 0x04);
    auto fc = FileContent::Load(fd_.get(), keys_, layout_, "dir/victim-name");
    ASSERT_FALSE(fc.ok());
    EXPECT_EQ(fc.status().code(), Code::kCorruption);
    EXPECT_NE(fc.status().message().find("dir/victim-name"), std::string::npos)
        << fc.status().message();
    EXPECT_NE(fc.status().message().find(c.what), std::string::npos) << fc.status().message();
    RawFlip(fd_.get(), c.offset, 0x04);
  }
  ASSERT_NO_FATAL_FAILURE(Reload());
  ExpectIntact(0, kSize);
}

TEST_F(TamperTest, TruncatedHeaderFailsToLoad) {
  const auto header = RawRead(fd_.get(), 0, kFileHeaderSize);
  for (uint64_t cut : {uint64_t{1}, uint64_t{4}, uint64_t{10}, uint64_t{17}, kFileHeaderSize - 1}) {
    SCOPED_TRACE(cut);
    // What is left of the header is intact: magic and version still read right.
    Resize(fd_.get(), cut);
    RawWrite(fd_.get(), 0, std::span(header).first(cut));
    auto fc = FileContent::Load(fd_.get(), keys_, layout_, "victim-name");
    ASSERT_FALSE(fc.ok());
    EXPECT_EQ(fc.status().code(), Code::kCorruption);
    EXPECT_NE(fc.status().message().find("victim-name"), std::string::npos);
  }
}

// A write that has to merge with a damaged block (read-modify-write) fails and leaves the
// stored block as it was, rather than sealing garbage under a fresh tag.
TEST_F(TamperTest, PartialWriteIntoDamagedBlockFails) {
  RawFlip(fd_.get(), layout_.BlockOffset(1) + kNonceSize + 5);
  auto damaged = StoredBlock(1);
  const uint8_t patch[] = {1, 2, 3};
  for (uint64_t offset : {uint64_t{kBs + 5}, uint64_t{kBs}, uint64_t{2 * kBs - 3}}) {
    SCOPED_TRACE(offset);
    Status st = fc_->Write(fd_.get(), patch, offset);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), Code::kCorruption);
    EXPECT_EQ(StoredBlock(1), damaged);
  }
  // A write spanning from block 0 into the damaged block merges with its end: it fails too.
  std::vector<uint8_t> span(kBs, 7);
  Status st = fc_->Write(fd_.get(), span, kBs / 2);
  EXPECT_EQ(st.code(), Code::kCorruption);
  EXPECT_EQ(StoredBlock(1), damaged);
  ExpectOnlyBlocksCorrupt({1});
  // A write that replaces the whole block needs nothing from it and repairs it.
  ASSERT_TRUE(fc_->Write(fd_.get(), std::span(data_).subspan(kBs, kBs), kBs).ok());
  ExpectIntact(0, kSize);
}

TEST_F(TamperTest, TruncateIntoDamagedBlockFails) {
  RawFlip(fd_.get(), layout_.BlockOffset(2) + kNonceSize + kBs - 1);
  auto damaged = StoredBlock(2);
  uint64_t backing = FdSize(fd_.get());
  Status st = fc_->Truncate(fd_.get(), 2 * kBs + 10);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kCorruption);
  EXPECT_EQ(FdSize(fd_.get()), backing);
  EXPECT_EQ(StoredBlock(2), damaged);
  // Cutting at the boundary before it drops the damaged block without reading it.
  ASSERT_TRUE(fc_->Truncate(fd_.get(), 2 * kBs).ok());
  ExpectIntact(0, 2 * kBs);
}

// Growing the file (by truncate or by a write past the end) merges zeros into the short last
// block; a damaged last block makes both fail without change.
TEST_F(TamperTest, ExtendingPastDamagedLastBlockFails) {
  RawFlip(fd_.get(), layout_.BlockOffset(kBlocks - 1) + kNonceSize + kLastLen);
  auto damaged = StoredBlock(kBlocks - 1);
  uint64_t backing = FdSize(fd_.get());
  Status st = fc_->Truncate(fd_.get(), kSize + 5000);
  EXPECT_EQ(st.code(), Code::kCorruption);
  const uint8_t one = 1;
  st = fc_->Write(fd_.get(), {&one, 1}, kSize + 1);
  EXPECT_EQ(st.code(), Code::kCorruption);
  st = fc_->Write(fd_.get(), {&one, 1}, kSize);  // appending merges with the block too
  EXPECT_EQ(st.code(), Code::kCorruption);
  EXPECT_EQ(FdSize(fd_.get()), backing);
  EXPECT_EQ(StoredBlock(kBlocks - 1), damaged);
  ExpectOnlyBlocksCorrupt({kBlocks - 1});
}

}  // namespace
}  // namespace modelvault::volume
