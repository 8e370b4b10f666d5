// Appends from two processes (fork) with several threads each to one log: the result must
// be one valid chain holding every record exactly once.
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>
#include <vector>

#include "audit/audit_log.h"
#include "audit/verify.h"
#include "tests/audit/audit_test_util.h"

namespace modelvault::audit {
namespace {

using nlohmann::json;

constexpr int kThreads = 4;
constexpr int kPerThread = 25;

// Writes kThreads x kPerThread records tagged with `proc`; false if any append failed.
bool WriteMany(const std::string& path, int proc) {
  auto log = AuditLog::Open({.path = path}, test::kVolume);
  if (!log.ok() || !(*log)->SetSigningSeed(test::TestSeed()).ok()) return false;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!(*log)->Record("write", {{"proc", proc}, {"thread", t}, {"i", i}}).ok()) {
          ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) {
    if (f != 0) return false;
  }
  return true;
}

TEST(AuditConcurrencyTest, ProcessesAndThreadsKeepOneChain) {
  test::TempDir dir;
  const std::string path = dir.File("audit.log");
  // Fork before any thread exists; the child opens the log itself (a shared descriptor
  // would share its flock with the parent).
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(WriteMany(path, 1) ? 0 : 1);
  bool parent_ok = WriteMany(path, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child failed: " << status;
  ASSERT_TRUE(parent_ok);

  auto report = VerifyAuditLog(path, {.public_key = test::TestPublicKey()});
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->problems.front().line << ": "
                            << report->problems.front().what;
  const uint64_t total = 2 * kThreads * kPerThread;
  EXPECT_EQ(report->records, total);
  EXPECT_EQ(report->signed_records, total);

  std::set<std::tuple<int, int, int>> seen;
  for (const std::string& line : test::ReadLines(path)) {
    json r = json::parse(line);
    seen.insert({r["proc"].get<int>(), r["thread"].get<int>(), r["i"].get<int>()});
  }
  EXPECT_EQ(seen.size(), total) << "a record was lost or written twice";
}

}  // namespace
}  // namespace modelvault::audit
