// The backing filesystem reuses the inode numbers of removed files at once; an object the
// kernel still caches under a reused number must not be mistaken for the new one, even
// when the new object is a directory (which the daemon tracks without a file handle).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

class InodeReuseTest : public MountFixture {};

TEST_F(InodeReuseTest, ADirectoryOnTheNumberOfARemovedCachedFileIsADirectory) {
  int reused = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string file = M("f" + std::to_string(i));
    const std::string dir = M("d" + std::to_string(i));
    ASSERT_EQ(WriteFile(file, "x"), 0);
    auto before = Lstat(file);
    ASSERT_TRUE(before.has_value());
    // Removed behind the kernel's back: its inode stays cached, its number is free.
    std::string backing_name;
    for (const auto& name : ListDir(backing())) {
      struct stat st;
      if (::lstat(B(name).c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 32) {
        backing_name = name;
      }
    }
    ASSERT_FALSE(backing_name.empty());
    ASSERT_EQ(::unlink(B(backing_name).c_str()), 0);
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << ErrnoName(errno);
    auto after = Lstat(dir);
    ASSERT_TRUE(after.has_value());
    EXPECT_TRUE(S_ISDIR(after->st_mode));
    if (after->st_ino == before->st_ino) ++reused;
    // Working inside it needs it to be known as a directory.
    ASSERT_EQ(WriteFile(dir + "/inside", "y"), 0) << "round " << i << ": " << ErrnoName(errno);
  }
  RecordProperty("reused_numbers", reused);
}

// The kernel moves dentries without asking the daemon again; the daemon's record of where
// each directory sits must follow every move, or moving a directory below its former child
// would make that record circular (and every later check of it spin).
TEST_F(InodeReuseTest, MovingADirectoryBelowItsFormerChildKeepsTheTreeSane) {
  ASSERT_EQ(::mkdir(M("a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(M("a/b").c_str(), 0755), 0);
  ASSERT_EQ(::rename(M("a/b").c_str(), M("b").c_str()), 0);
  ASSERT_EQ(::rename(M("a").c_str(), M("b/a").c_str()), 0);
  // Past the entry timeout, the kernel looks "a" up again, now below "b".
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_EQ(WriteFile(M("b/a/file"), "fine"), 0);
  ASSERT_EQ(::mkdir(M("b/a/c").c_str(), 0755), 0);
  ASSERT_EQ(::rename(M("b/a/c").c_str(), M("c").c_str()), 0);
  ASSERT_EQ(::rename(M("b").c_str(), M("c/b").c_str()), 0);
  EXPECT_TRUE(FileHolds(M("c/b/a/file"), "fine"));
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M("c/b/a/file"), "fine"));
}

}  // namespace
}  // namespace modelvault::fs::test
