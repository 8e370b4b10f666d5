// SecretBytes: sizes, copies in, move semantics, constant-time comparison, and the free
// helpers Cleanse and ConstantTimeEquals.
#include "base/secret_bytes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

namespace modelvault {
namespace {

static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);
static_assert(std::is_nothrow_move_assignable_v<SecretBytes>);

bool AllZero(std::span<const uint8_t> s) {
  return std::all_of(s.begin(), s.end(), [](uint8_t b) { return b == 0; });
}

std::vector<uint8_t> Pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + 1);
  return v;
}

TEST(SecretBytesTest, DefaultIsEmpty) {
  SecretBytes s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.data(), nullptr);
  EXPECT_TRUE(s.span().empty());
  EXPECT_FALSE(s.IsLocked());
}

TEST(SecretBytesTest, SizedIsZeroFilledAndWritable) {
  SecretBytes s(48);
  EXPECT_EQ(s.size(), 48u);
  EXPECT_FALSE(s.empty());
  ASSERT_NE(s.data(), nullptr);
  EXPECT_TRUE(AllZero(s.span()));
  std::fill(s.span().begin(), s.span().end(), 0x5a);
  const SecretBytes& cs = s;
  EXPECT_EQ(cs.span().size(), 48u);
  EXPECT_EQ(cs.data()[47], 0x5a);
}

TEST(SecretBytesTest, ZeroSizeAllocatesNothing) {
  SecretBytes s(0);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.data(), nullptr);
  SecretBytes c = SecretBytes::CopyOf({});
  EXPECT_TRUE(c.empty());
  EXPECT_TRUE(s.Equals(c));
}

TEST(SecretBytesTest, CopyOfCopies) {
  std::vector<uint8_t> src = Pattern(100);
  SecretBytes s = SecretBytes::CopyOf(src);
  ASSERT_EQ(s.size(), src.size());
  EXPECT_TRUE(std::equal(src.begin(), src.end(), s.span().begin()));
  src[0] ^= 0xff;  // the copy is independent of the source
  EXPECT_NE(s.data()[0], src[0]);
}

TEST(SecretBytesTest, LargerThanAPage) {
  std::vector<uint8_t> src = Pattern(10000);
  SecretBytes s = SecretBytes::CopyOf(src);
  EXPECT_TRUE(std::equal(src.begin(), src.end(), s.span().begin()));
}

TEST(SecretBytesTest, MoveConstructionTransfersAndEmptiesTheSource) {
  SecretBytes a = SecretBytes::CopyOf(Pattern(32));
  const uint8_t* p = a.data();
  const bool locked = a.IsLocked();
  SecretBytes b(std::move(a));
  EXPECT_EQ(b.data(), p);  // the same locked pages, not a copy
  EXPECT_EQ(b.size(), 32u);
  EXPECT_EQ(b.IsLocked(), locked);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_FALSE(a.IsLocked());
}

TEST(SecretBytesTest, MoveAssignmentReplacesAndEmptiesTheSource) {
  SecretBytes a = SecretBytes::CopyOf(Pattern(16));
  SecretBytes b = SecretBytes::CopyOf(Pattern(64));
  const uint8_t* p = a.data();
  b = std::move(a);
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.size(), 16u);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  a = std::move(b);        // a moved-from object can be assigned again
  EXPECT_EQ(a.size(), 16u);
  EXPECT_TRUE(std::equal(a.span().begin(), a.span().end(), Pattern(16).begin()));
}

TEST(SecretBytesTest, SelfMoveAssignmentKeepsTheContents) {
  SecretBytes a = SecretBytes::CopyOf(Pattern(8));
  SecretBytes& alias = a;
  a = std::move(alias);
  ASSERT_EQ(a.size(), 8u);
  EXPECT_TRUE(std::equal(a.span().begin(), a.span().end(), Pattern(8).begin()));
}

TEST(SecretBytesTest, Equals) {
  SecretBytes a = SecretBytes::CopyOf(Pattern(32));
  SecretBytes b = SecretBytes::CopyOf(Pattern(32));
  EXPECT_TRUE(a.Equals(b));
  EXPECT_TRUE(a.Equals(a));
  b.data()[31] ^= 1;
  EXPECT_FALSE(a.Equals(b));
  b.data()[31] ^= 1;
  b.data()[0] ^= 0x80;
  EXPECT_FALSE(a.Equals(b));
  EXPECT_FALSE(a.Equals(SecretBytes::CopyOf(Pattern(31))));  // a prefix is not equal
  EXPECT_FALSE(a.Equals(SecretBytes()));
  EXPECT_TRUE(SecretBytes().Equals(SecretBytes(0)));
}

TEST(ConstantTimeEqualsTest, ComparesContentsAndSizes) {
  std::vector<uint8_t> a = Pattern(20), b = Pattern(20), c = Pattern(21);
  EXPECT_TRUE(ConstantTimeEquals(a, b));
  EXPECT_FALSE(ConstantTimeEquals(a, c));
  EXPECT_TRUE(ConstantTimeEquals(a, std::span<const uint8_t>(c).first(20)));
  EXPECT_TRUE(ConstantTimeEquals({}, {}));
  b[10] ^= 4;
  EXPECT_FALSE(ConstantTimeEquals(a, b));
}

TEST(CleanseTest, ZeroesTheBuffer) {
  std::vector<uint8_t> v = Pattern(33);
  Cleanse(v);
  EXPECT_TRUE(AllZero(v));
  Cleanse({});  // an empty span is fine
}

// Locking is best effort (RLIMIT_MEMLOCK may be tiny in containers); what must hold is that
// IsLocked() answers and a small secret works either way.
TEST(SecretBytesTest, ReportsWhetherItIsLocked) {
  SecretBytes s(32);
  if (!s.IsLocked()) GTEST_LOG_(INFO) << "mlock unavailable here; secret is not locked";
  s.data()[0] = 1;
  EXPECT_EQ(s.data()[0], 1);
}

}  // namespace
TEST(SecretBytesTest, SmallAndLargeSecretsCanBeLockedAgain) {
  // What a forked daemon does: its secrets' memory locks did not come along.
  SecretBytes small(32);
  SecretBytes large(10000);
  small.span()[0] = 1;
  large.span()[9999] = 2;
  EXPECT_TRUE(RelockSecretMemory());
  EXPECT_EQ(small.span()[0], 1);
  EXPECT_EQ(large.span()[9999], 2);
}

TEST(SecretBytesTest, FreedSmallSlotsAreReusedWiped) {
  uint8_t* first = nullptr;
  {
    SecretBytes a(32);
    first = a.data();
    std::fill(a.span().begin(), a.span().end(), uint8_t{0xAB});
  }
  SecretBytes b(32);
  EXPECT_EQ(b.data(), first);  // the slot came back
  for (uint8_t byte : b.span()) EXPECT_EQ(byte, 0);
}

}  // namespace modelvault
