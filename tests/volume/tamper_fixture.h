// TamperTest: a fixture for the hostile-backing-file tests (file_content_tamper_test.cc,
// file_content_cut_test.cc). It writes a victim file of four full 4 KiB blocks and a short
// one through the codec, and checks reads against the original bytes: a read touching a
// damaged block must return Corruption (EIO) and never bytes, any other read the original.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "tests/volume/content_test_util.h"
#include "volume/content_layout.h"
#include "volume/file_content.h"

namespace modelvault::volume::test {

inline constexpr uint32_t kBs = 4096;
inline constexpr uint64_t kBlocks = 5;                 // four full blocks and a short one
inline constexpr uint64_t kSize = 4 * kBs + 100;       // plaintext size of the victim
inline constexpr uint64_t kLastLen = kSize - 4 * kBs;  // plaintext bytes in the short block

class TamperTest : public ::testing::Test {
 protected:
  TamperTest() : layout_(kBs), keys_(TestKeys()), rng_(11) {}

  void SetUp() override {
    data_ = RandomBytes(rng_, kSize);
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

}  // namespace modelvault::volume::test
