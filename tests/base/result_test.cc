// Result<T>: value or status, move-only payloads, MV_ASSIGN_OR_RETURN, and the abort when a
// missing value is reached for.
#include "base/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace modelvault {
namespace {

TEST(ResultTest, HoldsAValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
  r.value() = 7;
  EXPECT_EQ(*r, 7);
}

TEST(ResultTest, HoldsAStatus) {
  Result<int> r = Status::NotFound("no such slot");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().message(), "no such slot");
}

TEST(ResultTest, OkStatusBecomesInternalError) {
  Result<int> r = Status::Ok();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInternal);
}

TEST(ResultTest, ArrowAndConstAccess) {
  Result<std::string> r = std::string("abc");
  EXPECT_EQ(r->size(), 3u);
  const Result<std::string>& cr = r;
  EXPECT_EQ(cr->size(), 3u);
  EXPECT_EQ(*cr, "abc");
  EXPECT_EQ(cr.value(), "abc");
}

TEST(ResultTest, MoveOnlyValueMovesOut) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 5);
}

TEST(ResultDeathTest, ValueOfAnErrorAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Result<int> r = Status::Corruption("bad");
  EXPECT_DEATH((void)r.value(), "");
  EXPECT_DEATH((void)*r, "");
  const Result<std::string> s = Status::Corruption("bad");
  EXPECT_DEATH((void)s->size(), "");
}

Result<int> ParsePositive(int x) {
  if (x <= 0) return Status::InvalidArgument("not positive");
  return x;
}

Result<std::unique_ptr<int>> MakeBox(int x) {
  if (x < 0) return Status::InvalidArgument("negative");
  return std::make_unique<int>(x);
}

// Two MV_ASSIGN_OR_RETURN on different lines of one function, one declaring, one assigning
// to an existing variable, one with a move-only type.
Result<int> SumOfTwo(int a, int b, int* steps) {
  MV_ASSIGN_OR_RETURN(int x, ParsePositive(a));
  ++*steps;
  int y = 0;
  MV_ASSIGN_OR_RETURN(y, ParsePositive(b));
  ++*steps;
  MV_ASSIGN_OR_RETURN(auto box, MakeBox(x + y));
  return *box;
}

TEST(ResultTest, AssignOrReturnAssignsOnSuccess) {
  int steps = 0;
  Result<int> r = SumOfTwo(2, 3, &steps);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 5);
  EXPECT_EQ(steps, 2);
}

TEST(ResultTest, AssignOrReturnReturnsTheFirstError) {
  int steps = 0;
  Result<int> r = SumOfTwo(2, -1, &steps);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "not positive");
  EXPECT_EQ(steps, 1);
  steps = 0;
  EXPECT_FALSE(SumOfTwo(-1, 3, &steps).ok());
  EXPECT_EQ(steps, 0);
}

Status UseInStatusFunction(int a, std::vector<int>* out) {
  MV_ASSIGN_OR_RETURN(int x, ParsePositive(a));
  out->push_back(x);
  return Status::Ok();
}

TEST(ResultTest, AssignOrReturnWorksInStatusFunctions) {
  std::vector<int> out;
  EXPECT_TRUE(UseInStatusFunction(4, &out).ok());
  EXPECT_EQ(UseInStatusFunction(0, &out).code(), Code::kInvalidArgument);
  EXPECT_EQ(out, std::vector<int>{4});
}

}  // namespace
}  // namespace modelvault
