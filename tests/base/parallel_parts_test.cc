#include "base/parallel_parts.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace modelvault::base {
namespace {

TEST(ParallelPartsTest, RunsEveryPartExactlyOnce) {
  for (size_t parts : {0u, 1u, 2u, 3u, 17u, 256u}) {
    std::vector<std::atomic<int>> runs(parts);
    ASSERT_TRUE(RunInParts(parts, [&](size_t p) {
                  runs.at(p).fetch_add(1);
                  return Status::Ok();
                }).ok());
    for (size_t p = 0; p < parts; ++p) EXPECT_EQ(runs[p].load(), 1) << parts << " parts";
  }
}

TEST(ParallelPartsTest, ReturnsTheFirstFailureInPartOrderAfterAllFinish) {
  std::atomic<int> finished{0};
  Status st = RunInParts(8, [&](size_t p) {
    finished.fetch_add(1);
    if (p == 5) return Status::Corruption("part 5");
    if (p == 2) return Status::IOError("part 2");
    return Status::Ok();
  });
  EXPECT_EQ(finished.load(), 8);
  EXPECT_EQ(st.code(), Code::kIOError);
  EXPECT_EQ(st.message(), "part 2");
}

TEST(ParallelPartsTest, UsesMoreThanOneThreadWhenTheHostHasThem) {
  if (ParallelWidth() < 2) GTEST_SKIP() << "one hardware thread";
  // Each part waits until both have started: only two threads running at once finish.
  std::atomic<int> started{0};
  Status st = RunInParts(2, [&](size_t) {
    started.fetch_add(1);
    for (int i = 0; i < 5000 && started.load() < 2; ++i) usleep(1000);
    return started.load() == 2 ? Status::Ok() : Status::Busy("ran alone");
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST(ParallelPartsTest, ManyCallersAtOnceEachGetTheirOwnResults) {
  std::vector<std::thread> callers;
  std::atomic<int> wrong{0};
  for (int c = 0; c < 8; ++c) {
    callers.emplace_back([&, c] {
      for (int round = 0; round < 200; ++round) {
        std::vector<int> out(6, -1);
        Status st = RunInParts(out.size(), [&](size_t p) {
          out[p] = c * 1000 + static_cast<int>(p);
          return Status::Ok();
        });
        for (size_t p = 0; p < out.size(); ++p) {
          if (!st.ok() || out[p] != c * 1000 + static_cast<int>(p)) wrong.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(ParallelPartsTest, AForkedChildFinishesWithoutTheParentsWorkers) {
  // Start the pool in this process first; the child inherits it without its threads.
  ASSERT_TRUE(RunInParts(4, [](size_t) { return Status::Ok(); }).ok());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::atomic<int> runs{0};
    Status st = RunInParts(16, [&](size_t) {
      runs.fetch_add(1);
      return Status::Ok();
    });
    _exit(st.ok() && runs.load() == 16 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace modelvault::base
