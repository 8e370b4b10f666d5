// The rate limit on denied-access records: the token bucket itself with a driven clock, and
// a tight loop of 100,000 denials that must leave a bounded number of records whose
// suppressed counts add up to the total.
#include <chrono>

#include "audit/audit_log.h"
#include "audit/denial_limiter.h"
#include "audit/record.h"
#include "audit/verify.h"
#include "tests/audit/audit_test_util.h"

namespace modelvault::audit {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

TEST(DenialLimiterTest, BurstThenRefill) {
  DenialLimiter limiter(/*per_second=*/2, /*burst=*/3);
  const auto t0 = DenialLimiter::Clock::time_point() + std::chrono::hours(1);
  const auto wall0 = std::chrono::system_clock::time_point() + std::chrono::hours(1000);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Admit(t0, wall0)) << i;
  EXPECT_FALSE(limiter.Admit(t0, wall0));
  EXPECT_FALSE(limiter.Admit(t0 + milliseconds(400), wall0 + milliseconds(400)));
  EXPECT_TRUE(limiter.Admit(t0 + milliseconds(500), wall0 + milliseconds(500)));
  EXPECT_FALSE(limiter.Admit(t0 + milliseconds(600), wall0 + milliseconds(600)));

  DenialLimiter::Suppressed s = limiter.TakeSuppressed();
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(s.first, wall0);
  EXPECT_EQ(s.last, wall0 + milliseconds(600));
  EXPECT_EQ(limiter.TakeSuppressed().count, 0u);

  // A long pause refills to the burst, not beyond it.
  const auto later = t0 + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Admit(later, wall0)) << i;
  EXPECT_FALSE(limiter.Admit(later, wall0));
}

TEST(DenialLimiterTest, ZeroRateAllowsOnlyTheBurst) {
  DenialLimiter limiter(0, 2);
  auto t = DenialLimiter::Clock::now();
  auto w = std::chrono::system_clock::now();
  EXPECT_TRUE(limiter.Admit(t, w));
  EXPECT_TRUE(limiter.Admit(t + std::chrono::hours(5), w));
  EXPECT_FALSE(limiter.Admit(t + std::chrono::hours(10), w));
}

// Counts `access_denied` records and the denials the summaries stand for.
struct Tally {
  uint64_t records = 0, denied = 0, suppressed = 0, summaries = 0;
};
Tally Count(const std::string& path) {
  Tally t;
  for (const std::string& line : test::ReadLines(path)) {
    json r = json::parse(line);
    ++t.records;
    if (r["event"] == kEventDenied) ++t.denied;
    if (r["event"] == kEventDeniedSuppressed) {
      ++t.summaries;
      t.suppressed += r["count"].get<uint64_t>();
      EXPECT_TRUE(r["first"].is_string() && r["last"].is_string());
      EXPECT_LE(r["first"].get<std::string>(), r["last"].get<std::string>());
    }
  }
  return t;
}

TEST(AuditDenialTest, FloodOfDenialsLeavesABoundedLog) {
  test::TempDir dir;
  const std::string path = dir.File("audit.log");
  constexpr uint64_t kDenials = 100000;
  const auto start = std::chrono::steady_clock::now();
  {
    auto log = AuditLog::Open({.path = path}, test::kVolume);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->SetSigningSeed(test::TestSeed()).ok());
    for (uint64_t i = 0; i < kDenials; ++i) {
      ASSERT_TRUE((*log)->RecordDenied({{"uid", 1000}, {"op", "open"}}).ok());
    }
    ASSERT_TRUE((*log)->Flush().ok());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Tally t = Count(path);
  EXPECT_EQ(t.denied + t.suppressed, kDenials);
  // Burst, plus the refill during the loop, plus one summary per denial let through after
  // the burst and a final one.
  const double refilled = 5 * seconds + 1;
  EXPECT_LE(t.records, 20 + 2 * refilled + 1) << "in " << seconds << " s";
  EXPECT_GE(t.denied, 20u);
  EXPECT_GE(t.summaries, 1u);
  auto report = VerifyAuditLog(path, {.public_key = test::TestPublicKey()});
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
}

TEST(AuditDenialTest, ClosingTheLogWritesThePendingSummary) {
  test::TempDir dir;
  const std::string path = dir.File("audit.log");
  {
    auto log =
        AuditLog::Open({.path = path, .denied_per_second = 0, .denied_burst = 20}, test::kVolume);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 30; ++i) ASSERT_TRUE((*log)->RecordDenied({{"i", i}}).ok());
    EXPECT_EQ(test::ReadLines(path).size(), 20u);
  }
  std::vector<std::string> lines = test::ReadLines(path);
  ASSERT_EQ(lines.size(), 21u);
  json last = json::parse(lines.back());
  EXPECT_EQ(last["event"], kEventDeniedSuppressed);
  EXPECT_EQ(last["count"], 10);
}

}  // namespace
}  // namespace modelvault::audit
