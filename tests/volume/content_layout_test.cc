// ContentLayout: the arithmetic between plaintext sizes and backing sizes, including cut
// tails and sizes far past 4 GiB.
#include "volume/content_layout.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>

namespace modelvault::volume {
namespace {

constexpr uint32_t kAllBlockSizes[] = {4096,   8192,   16384,  32768,  65536,
                                       131072, 262144, 524288, 1048576};

TEST(ContentLayoutTest, ValidBlockSizesArePowersOfTwoFrom4KiBTo1MiB) {
  for (uint32_t bs : kAllBlockSizes) EXPECT_TRUE(IsValidBlockSize(bs)) << bs;
  for (uint64_t bs :
       {uint64_t{0}, uint64_t{1}, uint64_t{512}, uint64_t{2048}, uint64_t{4095}, uint64_t{4097},
        uint64_t{6144}, uint64_t{12288}, uint64_t{65535}, uint64_t{1048577}, uint64_t{2097152},
        uint64_t{1} << 32, uint64_t{1} << 63, ~uint64_t{0}}) {
    EXPECT_FALSE(IsValidBlockSize(bs)) << bs;
  }
  EXPECT_TRUE(IsValidBlockSize(kDefaultBlockSize));
  EXPECT_TRUE(IsValidBlockSize(kMinBlockSize));
  EXPECT_TRUE(IsValidBlockSize(kMaxBlockSize));
}

TEST(ContentLayoutTest, EmptyAndHeaderOnlyFiles) {
  const ContentLayout layout(4096);
  EXPECT_EQ(layout.stored_block_size(), 4096u + 28u);
  EXPECT_EQ(layout.BackingSize(0), kFileHeaderSize);
  EXPECT_EQ(layout.PlainSize(0), 0u);
  EXPECT_TRUE(layout.TailIsValid(0));
  EXPECT_EQ(layout.PlainSize(kFileHeaderSize), 0u);
  EXPECT_TRUE(layout.TailIsValid(kFileHeaderSize));
  // A backing file shorter than its header is cut.
  for (uint64_t b = 1; b < kFileHeaderSize; ++b) {
    EXPECT_EQ(layout.PlainSize(b), 0u) << b;
    EXPECT_FALSE(layout.TailIsValid(b)) << b;
  }
  EXPECT_EQ(layout.BlockOffset(0), kFileHeaderSize);
  EXPECT_EQ(layout.BlockOffset(3), kFileHeaderSize + 3 * (4096 + 28));
}

TEST(ContentLayoutTest, BackingSizeAndPlainSizeAreInverse) {
  std::mt19937_64 rng(99);
  for (uint32_t bs : kAllBlockSizes) {
    SCOPED_TRACE(bs);
    const ContentLayout layout(bs);
    auto check = [&](uint64_t plain) {
      uint64_t backing = layout.BackingSize(plain);
      ASSERT_EQ(layout.PlainSize(backing), plain) << plain;
      ASSERT_TRUE(layout.TailIsValid(backing)) << plain;
      ASSERT_LT(layout.BackingSize(plain), layout.BackingSize(plain + 1)) << plain;
    };
    // Around every boundary of the first blocks, then at random up to 2^50.
    for (uint64_t k = 0; k <= 4; ++k) {
      for (uint64_t d = 0; d <= 40; ++d) {
        check(k * bs + d);
        if (k * bs >= d) check(k * bs - d);
      }
    }
    for (int i = 0; i < 2000; ++i) check(rng() >> 14);
  }
  // Every plaintext size up to three 4 KiB blocks.
  const ContentLayout small(4096);
  for (uint64_t plain = 0; plain <= 3 * 4096 + 1; ++plain) {
    ASSERT_EQ(small.PlainSize(small.BackingSize(plain)), plain);
  }
}

// A backing size maps back to itself through PlainSize exactly when its tail is valid.
TEST(ContentLayoutTest, EveryBackingSizeIsValidOrACutTail) {
  const ContentLayout layout(4096);
  for (uint64_t b = 1; b <= kFileHeaderSize + 3 * layout.stored_block_size() + 1; ++b) {
    ASSERT_EQ(layout.BackingSize(layout.PlainSize(b)) == b, layout.TailIsValid(b)) << b;
  }
}

TEST(ContentLayoutTest, TailsOf1To28BytesAreCut) {
  for (uint32_t bs : {4096u, 65536u, 1048576u}) {
    const ContentLayout layout(bs);
    for (uint64_t full = 0; full <= 3; ++full) {
      uint64_t start = layout.BlockOffset(full);
      EXPECT_TRUE(layout.TailIsValid(start));
      EXPECT_EQ(layout.PlainSize(start), full * bs);
      // Nonce and tag, or part of them, without a single byte of ciphertext.
      for (uint64_t tail = 1; tail <= kBlockOverhead; ++tail) {
        EXPECT_FALSE(layout.TailIsValid(start + tail)) << bs << " " << full << " " << tail;
        EXPECT_EQ(layout.PlainSize(start + tail), full * bs);
      }
      EXPECT_TRUE(layout.TailIsValid(start + kBlockOverhead + 1));
      EXPECT_EQ(layout.PlainSize(start + kBlockOverhead + 1), full * bs + 1);
      EXPECT_TRUE(layout.TailIsValid(start + layout.stored_block_size() - 1));
      EXPECT_EQ(layout.PlainSize(start + layout.stored_block_size() - 1), full * bs + bs - 1);
    }
  }
}

TEST(ContentLayoutTest, SizesPast4GiB) {
  constexpr uint64_t kGiB = uint64_t{1} << 30;
  const ContentLayout big(1 << 20);
  // 5 GiB + 3 bytes: 5120 full blocks of 1 MiB and a block of 3 bytes.
  uint64_t plain = 5 * kGiB + 3;
  uint64_t backing = 32 + 5120 * ((uint64_t{1} << 20) + 28) + 3 + 28;
  EXPECT_EQ(big.BackingSize(plain), backing);
  EXPECT_EQ(big.PlainSize(backing), plain);
  EXPECT_EQ(big.BlockOffset(5120), backing - 3 - 28);
  EXPECT_TRUE(big.TailIsValid(backing));
  EXPECT_FALSE(big.TailIsValid(backing - 3));

  // A 4 KiB layout past 4 GiB blocks (block indexes beyond 2^32) and near 2^60 bytes.
  const ContentLayout small(4096);
  uint64_t index = (uint64_t{1} << 32) + 5;
  EXPECT_EQ(small.BlockOffset(index), 32 + index * 4124);
  EXPECT_EQ(small.PlainSize(small.BlockOffset(index)), index * 4096);
  uint64_t huge = (uint64_t{1} << 60) + 12345;
  EXPECT_EQ(small.PlainSize(small.BackingSize(huge)), huge);
  EXPECT_EQ(small.BackingSize(4 * kGiB), 32 + (4 * kGiB / 4096) * 4124);
  EXPECT_EQ(small.BackingSize(4 * kGiB + 1), 32 + (4 * kGiB / 4096) * 4124 + 29);
}

}  // namespace
}  // namespace modelvault::volume
