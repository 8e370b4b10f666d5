// Hostile backing files, block by block: flipped bytes, swapped, moved, copied, dropped and
// appended blocks, foreign headers and a wrong key. Every read that touches a damaged block
// returns Corruption (EIO) and never bytes; blocks outside the damage keep reading correctly.
// Cut files, broken headers and writes into damage are in file_content_cut_test.cc.
#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tests/volume/content_test_util.h"
#include "tests/volume/tamper_fixture.h"
#include "volume/content_layout.h"
#include "volume/file_content.h"

namespace modelvault::volume {
namespace {

using test::FdSize;
using test::kBlocks;
using test::kBs;
using test::kSize;
using test::RawFlip;
using test::RawRead;
using test::RawWrite;
using test::Resize;
using test::TamperTest;
using test::TestKeys;

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

}  // namespace
}  // namespace modelvault::volume
