// Large reads are split into parts read on several threads (base/parallel_parts.h). These
// tests pin what the split must not change: the bytes returned at any offset and length,
// every block checked exactly once, and a failing block reported whichever part holds it.
#include <gtest/gtest.h>

#include <atomic>
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

using test::OpenRw;
using test::TempDir;
using test::TestKeys;

constexpr uint32_t kBs = 16384;
constexpr uint64_t kSize = 5 * (uint64_t{1} << 20) + 12345;  // ends inside a block

class FileContentSplitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fd_ = OpenRw(dir_.File("f"));
    auto fc = FileContent::Create(fd_.get(), TestKeys(), ContentLayout(kBs), dir_.File("f"));
    ASSERT_TRUE(fc.ok()) << fc.status().ToString();
    fc_ = std::move(*fc);
    plain_ = test::RandomBytes(rng_, kSize);
    ASSERT_TRUE(fc_->Write(fd_.get(), plain_, 0).ok());
  }

  TempDir dir_;
  UniqueFd fd_;
  std::unique_ptr<FileContent> fc_;
  std::mt19937_64 rng_{11};
  std::vector<uint8_t> plain_;
};

TEST_F(FileContentSplitTest, AnyOffsetAndLengthReadsTheSameBytes) {
  std::uniform_int_distribution<uint64_t> offset(0, kSize + 100);
  std::uniform_int_distribution<uint64_t> length(1, 3 << 20);
  for (int i = 0; i < 200; ++i) {
    uint64_t off = i < 4 ? uint64_t(i) * kBs : offset(rng_);  // block-aligned ones too
    std::vector<uint8_t> out(length(rng_), 0xee);
    auto n = fc_->Read(fd_.get(), out, off);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    uint64_t expect = off >= kSize ? 0 : std::min<uint64_t>(out.size(), kSize - off);
    ASSERT_EQ(*n, expect) << "offset " << off << " length " << out.size();
    ASSERT_TRUE(std::equal(out.begin(), out.begin() + static_cast<long>(expect),
                           plain_.begin() + static_cast<long>(std::min(off, kSize))))
        << "offset " << off << " length " << out.size();
  }
}

TEST_F(FileContentSplitTest, EveryBlockOfARequestIsCheckedExactlyOnce) {
  const uint64_t blocks = (kSize + kBs - 1) / kBs;
  std::vector<std::atomic<int>> seen(blocks);
  FileContent::BlockCheck count = [&](uint64_t index, std::span<const uint8_t> stored) {
    EXPECT_LE(stored.size(), kBs + 28u);
    seen.at(index).fetch_add(1);
    return Status::Ok();
  };
  std::vector<uint8_t> out(kSize);
  auto n = fc_->Read(fd_.get(), out, 0, count);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(out, plain_);
  for (uint64_t b = 0; b < blocks; ++b) EXPECT_EQ(seen[b].load(), 1) << "block " << b;
}

TEST_F(FileContentSplitTest, AFailedCheckInAnyPartFailsTheRead) {
  const uint64_t blocks = (kSize + kBs - 1) / kBs;
  for (uint64_t bad : {uint64_t{0}, blocks / 2, blocks / 2 + 1, blocks - 1}) {
    FileContent::BlockCheck refuse = [bad](uint64_t index, std::span<const uint8_t>) {
      return index == bad ? Status::Corruption("block " + std::to_string(index) + " refused")
                          : Status::Ok();
    };
    std::vector<uint8_t> out(kSize, 0xee);
    auto n = fc_->Read(fd_.get(), out, 0, refuse);
    ASSERT_FALSE(n.ok()) << "block " << bad;
    EXPECT_EQ(n.status().code(), Code::kCorruption);
    EXPECT_NE(n.status().message().find("block " + std::to_string(bad)), std::string::npos)
        << n.status().ToString();
  }
}

TEST_F(FileContentSplitTest, ATamperedBlockInTheSecondHalfIsCorruption) {
  // Flip one ciphertext byte of a block near the end: the part that holds it reports it.
  std::vector<uint8_t> out(kSize);
  ContentLayout layout(kBs);
  uint64_t block = kSize / kBs - 3;
  uint64_t at = layout.BlockOffset(block) + 100;
  uint8_t byte = 0;
  ASSERT_EQ(pread(fd_.get(), &byte, 1, static_cast<off_t>(at)), 1);
  byte ^= 0x01;
  ASSERT_EQ(pwrite(fd_.get(), &byte, 1, static_cast<off_t>(at)), 1);
  auto n = fc_->Read(fd_.get(), out, 0);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Code::kCorruption);
  EXPECT_NE(n.status().message().find("block " + std::to_string(block)), std::string::npos)
      << n.status().ToString();
}

}  // namespace
}  // namespace modelvault::volume
