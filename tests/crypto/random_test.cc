// RandomBytes and RandomSecret: sizes, and that two draws differ.
#include "crypto/random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace modelvault::crypto {
namespace {

TEST(RandomTest, TwoCallsDiffer) {
  // Equal 32-byte draws have probability 2^-256: a failure means a broken generator.
  std::vector<uint8_t> a(32), b(32);
  ASSERT_TRUE(RandomBytes(a).ok());
  ASSERT_TRUE(RandomBytes(b).ok());
  EXPECT_NE(a, b);
  EXPECT_FALSE(std::all_of(a.begin(), a.end(), [](uint8_t x) { return x == 0; }));
}

TEST(RandomTest, EmptyOutputIsOk) { EXPECT_TRUE(RandomBytes({}).ok()); }

TEST(RandomTest, RandomSecretHasTheRequestedSize) {
  for (size_t size : {1, 16, 32, 64, 4097}) {
    auto s = RandomSecret(size);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(s->size(), size);
  }
  auto a = RandomSecret(32);
  auto b = RandomSecret(32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(a->Equals(*b));
}

TEST(RandomTest, RandomSecretOfZeroBytesIsEmpty) {
  auto s = RandomSecret(0);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->empty());
}

}  // namespace
}  // namespace modelvault::crypto
