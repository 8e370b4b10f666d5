// What `modelvault umount` promises: once it returns, everything written through the mount
// is in the backing directory, so a new mount shows the same tree; and a busy mount is not
// torn down under its users.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

class CliPersistenceTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = true}; }
};

TEST_F(CliPersistenceTest, EverythingWrittenIsThereAfterUmountAndMount) {
  MV_ASSERT_SYS(::mkdir(M("models").c_str(), 0755));
  MV_ASSERT_SYS(::mkdir(M("models/llm").c_str(), 0700));
  for (int i = 0; i < 20; ++i) {
    const size_t size = (static_cast<size_t>(i) * 37813) % 300000;
    ASSERT_EQ(WriteFile(M("models/llm/shard-" + std::to_string(i)), PatternBytes(i, size)), 0);
  }
  {
    // Written in small pieces without fsync or fdatasync, closed right before umount.
    Fd fd(::open(M("models/log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640));
    MV_ASSERT_SYS(fd.get());
    for (int i = 0; i < 500; ++i) {
      const std::string line = "line " + std::to_string(i) + "\n";
      ASSERT_EQ(::write(fd.get(), line.data(), line.size()), static_cast<ssize_t>(line.size()));
    }
  }
  MV_ASSERT_SYS(::symlink("llm/shard-3", M("models/latest").c_str()));
  MV_ASSERT_SYS(::link(M("models/llm/shard-4").c_str(), M("models/hard").c_str()));
  MV_ASSERT_SYS(::setxattr(M("models/llm/shard-5").c_str(), "user.sha", "abc", 3, 0));
  MV_ASSERT_SYS(::chmod(M("models/llm/shard-6").c_str(), 0400));
  MV_ASSERT_SYS(::rename(M("models/llm/shard-7").c_str(), M("models/renamed").c_str()));
  MV_ASSERT_SYS(::unlink(M("models/llm/shard-8").c_str()));
  MV_ASSERT_SYS(::truncate(M("models/llm/shard-9").c_str(), 5000));
  const struct timespec times[2] = {{1000000000, 1}, {1111111111, 222222222}};
  MV_ASSERT_SYS(::utimensat(AT_FDCWD, M("models/llm/shard-10").c_str(), times, 0));
  const std::string before = SnapshotTree(M(""));
  ASSERT_TRUE(Unmount());
  ASSERT_TRUE(Mount());
  EXPECT_EQ(SnapshotTree(M("")), before);
  const auto st = Lstat(M("models/llm/shard-10"));
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->st_mtim.tv_sec, 1111111111);
  EXPECT_EQ(st->st_mtim.tv_nsec, 222222222);
}

TEST_F(CliPersistenceTest, UmountOfABusyMountFailsAndKeepsItWorking) {
  ASSERT_EQ(WriteFile(M("f"), "busy"), 0);
  Fd fd(::open(M("f").c_str(), O_RDONLY));
  MV_ASSERT_SYS(fd.get());
  const CliResult r = RunCli({"umount", mountpoint()}, std::chrono::seconds(30));
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_FALSE(r.timed_out) << "umount of a busy mount hung";
  EXPECT_TRUE(r.StderrIsOneLine()) << r.Describe();
  EXPECT_TRUE(IsMountPoint(mountpoint()));
  char buf[8];
  EXPECT_EQ(::pread(fd.get(), buf, sizeof buf, 0), 4) << ErrnoName(errno);
  EXPECT_TRUE(FileHolds(M("f"), "busy"));
  MV_ASSERT_SYS(fd.Reset());
  ASSERT_TRUE(Unmount());
}

TEST_F(CliPersistenceTest, ReadOnlyMountLeavesTheStoreUntouched) {
  MV_ASSERT_SYS(::mkdir(M("d").c_str(), 0755));
  ASSERT_EQ(WriteFile(M("d/f"), PatternBytes(1, 100000)), 0);
  MV_ASSERT_SYS(::setxattr(M("d/f").c_str(), "user.k", "v", 1, 0));
  MV_ASSERT_SYS(::symlink("d/f", M("l").c_str()));
  ASSERT_TRUE(Unmount());
  const std::string before = SnapshotTree(backing(), /*mtimes=*/true);
  ASSERT_TRUE(Mount({"--read-only"}));
  EXPECT_TRUE(FileHolds(M("l"), PatternBytes(1, 100000)));
  EXPECT_EQ(ListDir(M("d")), std::vector<std::string>{"f"});
  char value[4];
  EXPECT_EQ(::getxattr(M("d/f").c_str(), "user.k", value, sizeof value), 1);
  MV_EXPECT_ERRNO(::open(M("d/g").c_str(), O_WRONLY | O_CREAT, 0644), EROFS);
  MV_EXPECT_ERRNO(::truncate(M("d/f").c_str(), 0), EROFS);
  MV_EXPECT_ERRNO(::setxattr(M("d/f").c_str(), "user.k", "w", 1, 0), EROFS);
  MV_EXPECT_ERRNO(::rename(M("l").c_str(), M("l2").c_str()), EROFS);
  ASSERT_TRUE(Unmount());
  EXPECT_EQ(SnapshotTree(backing(), /*mtimes=*/true), before);
}

}  // namespace
}  // namespace modelvault::fs::test
