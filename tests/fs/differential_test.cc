// Randomized differential test: thousands of mixed operations applied identically to the
// mount and to a plain directory on the backing filesystem, every result compared, the
// whole tree compared every few hundred operations, at the end and after a remount.
// A mismatch prints the seed, the operation's index and the last operations; rerun one
// seed with MODELVAULT_DIFF_SEED=N (and MODELVAULT_DIFF_OPS=M to stop after M operations).
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "tests/fs/differential_ops.h"
#include "tests/fs/differential_tree.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

struct DiffParam {
  uint64_t seed;
  uint32_t block_size;
  bool mmap;
};

void PrintTo(const DiffParam& p, std::ostream* os) {
  *os << "seed " << p.seed << ", block size " << p.block_size << (p.mmap ? ", mmap" : "");
}

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

class DifferentialTest : public MountFixture, public ::testing::WithParamInterface<DiffParam> {
 protected:
  Options GetOptions() const override { return {.block_size = GetParam().block_size}; }
};

TEST_P(DifferentialTest, MountBehavesLikeAPlainDirectory) {
  const std::string plain = T("plain");
  MV_ASSERT_SYS(::mkdir(plain.c_str(), 0755));
  DiffConfig config;
  config.seed = static_cast<uint64_t>(EnvInt("MODELVAULT_DIFF_SEED", 0));
  if (config.seed == 0) config.seed = GetParam().seed;
  config.ops = EnvInt("MODELVAULT_DIFF_OPS", 3000);
  config.block_size = GetParam().block_size;
  config.mmap_ops = GetParam().mmap;
  DiffRunner runner(mountpoint(), plain, config);
  const std::string report = runner.Run([this]() -> std::string {
    ::testing::AssertionResult remounted = Remount();
    return remounted ? "" : remounted.message();
  });
  std::printf("[ INFO     ] %s\n", runner.Summary().c_str());
  runner.CloseAll();
  ASSERT_TRUE(report.empty()) << report;
  const std::string at_end = runner.CheckTree("at the end");
  EXPECT_TRUE(at_end.empty()) << at_end;
  ASSERT_TRUE(Remount());
  const std::string after = runner.CheckTree("after a remount");
  EXPECT_TRUE(after.empty()) << after;
}

INSTANTIATE_TEST_SUITE_P(Seeds, DifferentialTest,
                         ::testing::Values(DiffParam{1, 4096, false}, DiffParam{2, 4096, true},
                                           DiffParam{3, 65536, false}, DiffParam{4, 65536, true}),
                         [](const ::testing::TestParamInfo<DiffParam>& info) {
                           return "seed" + std::to_string(info.param.seed) + "_bs" +
                                  std::to_string(info.param.block_size) +
                                  (info.param.mmap ? "_mmap" : "");
                         });

class DifferentialThreadsTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096}; }

  // Two runners on two threads at once, each in `subdir` + its number if `subdir` is set,
  // else both in the root directory with names of their own.
  void RunTwoThreads(bool own_directories) {
    const std::string plain = T("plain");
    MV_ASSERT_SYS(::mkdir(plain.c_str(), 0755));
    constexpr int kThreads = 2;
    std::vector<std::unique_ptr<DiffRunner>> runners;
    for (int t = 0; t < kThreads; ++t) {
      DiffConfig config;
      config.seed = static_cast<uint64_t>(EnvInt("MODELVAULT_DIFF_SEED", 100) + t);
      config.ops = EnvInt("MODELVAULT_DIFF_OPS", 1500);
      config.block_size = 4096;
      config.mmap_ops = t == 1;
      if (own_directories) {
        config.subdir = "t" + std::to_string(t);
        MV_ASSERT_SYS(::mkdir(M(config.subdir).c_str(), 0755));
        MV_ASSERT_SYS(::mkdir((plain + "/" + config.subdir).c_str(), 0755));
      } else {
        config.name_prefix = "t" + std::to_string(t) + "_";
      }
      runners.push_back(std::make_unique<DiffRunner>(mountpoint(), plain, config));
    }
    std::vector<std::string> reports(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        reports[t] = runners[t]->Run();
        std::printf("[ INFO     ] thread %d: %s\n", t, runners[t]->Summary().c_str());
      });
    }
    for (std::thread& thread : threads) thread.join();
    for (auto& runner : runners) runner->CloseAll();
    for (const std::string& report : reports) EXPECT_TRUE(report.empty()) << report;
    if (HasFailure()) return;
    ASSERT_TRUE(Remount());
    for (auto& runner : runners) {
      const std::string after = runner->CheckTree("after a remount");
      EXPECT_TRUE(after.empty()) << after;
    }
  }
};

TEST_F(DifferentialThreadsTest, TwoThreadsEachInTheirOwnDirectory) { RunTwoThreads(true); }

TEST_F(DifferentialThreadsTest, TwoThreadsSharingTheRootDirectory) { RunTwoThreads(false); }

// The harness itself, without FUSE: two plain directories must agree for every seed (so a
// mismatch on the mount is the mount's), and CompareTrees must see each kind of difference.
TEST(DifferentialHarnessTest, TwoPlainDirectoriesAgree) {
  const std::string root = MakeTempDir("mvdiff");
  ASSERT_FALSE(root.empty());
  for (const uint64_t seed : {1, 2, 3, 4}) {
    const std::string a = root + "/a" + std::to_string(seed);
    const std::string b = root + "/b" + std::to_string(seed);
    MV_ASSERT_SYS(::mkdir(a.c_str(), 0755));
    MV_ASSERT_SYS(::mkdir(b.c_str(), 0755));
    DiffConfig config;
    config.seed = seed;
    config.ops = 1500;
    config.block_size = seed <= 2 ? 4096 : 65536;
    config.mmap_ops = seed % 2 == 0;
    DiffRunner runner(a, b, config);
    const std::string report = runner.Run();
    EXPECT_TRUE(report.empty()) << report;
  }
  RemoveTree(root);
}

TEST(DifferentialHarnessTest, CompareTreesSeesEachKindOfDifference) {
  const std::string root = MakeTempDir("mvdiff");
  ASSERT_FALSE(root.empty());
  const std::string a = root + "/a", b = root + "/b";
  for (const std::string& dir : {a, b}) {
    MV_ASSERT_SYS(::mkdir(dir.c_str(), 0755));
    MV_ASSERT_SYS(::mkdir((dir + "/d").c_str(), 0755));
    ASSERT_EQ(WriteFile(dir + "/d/f", "content"), 0);
    MV_ASSERT_SYS(::symlink("target", (dir + "/l").c_str()));
  }
  EXPECT_EQ(CompareTrees(a, b), "");
  ASSERT_EQ(WriteFile(b + "/d/f", "contenT"), 0);
  EXPECT_NE(CompareTrees(a, b), "") << "content";
  ASSERT_EQ(WriteFile(b + "/d/f", "content"), 0);
  MV_ASSERT_SYS(::chmod((b + "/d/f").c_str(), 0600));
  EXPECT_NE(CompareTrees(a, b), "") << "mode";
  MV_ASSERT_SYS(::chmod((b + "/d/f").c_str(), 0644));
  MV_ASSERT_SYS(::link((b + "/d/f").c_str(), (b + "/d/f2").c_str()));
  EXPECT_NE(CompareTrees(a, b), "") << "extra name and nlink";
  MV_ASSERT_SYS(::unlink((b + "/d/f2").c_str()));
  MV_ASSERT_SYS(::unlink((b + "/l").c_str()));
  MV_ASSERT_SYS(::symlink("targeT", (b + "/l").c_str()));
  EXPECT_NE(CompareTrees(a, b), "") << "link target";
  MV_ASSERT_SYS(::unlink((b + "/l").c_str()));
  MV_ASSERT_SYS(::symlink("target", (b + "/l").c_str()));
  EXPECT_EQ(CompareTrees(a, b), "");
  RemoveTree(root);
}

}  // namespace
}  // namespace modelvault::fs::test
