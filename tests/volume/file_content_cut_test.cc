// Hostile backing files, continued: files cut inside a block, in a tag or in the header, a
// broken magic or version, and writes and truncates that would have to merge with a damaged
// block, which must fail rather than seal the damage under a fresh tag.
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
using test::kLastLen;
using test::kSize;
using test::RawFlip;
using test::RawRead;
using test::RawWrite;
using test::Resize;
using test::TamperTest;

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
