// Files that outlive or share their names on a mounted store: unlink while open, symbolic
// links (relative, absolute, 1000-byte targets), hard links across directories.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

class PosixLinksTest : public MountFixture {
 protected:
  std::string ReadLink(const std::string& path) {
    char buf[8192];
    const ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
    if (n < 0) return "<readlink: " + ErrnoName(errno) + ">";
    return std::string(buf, static_cast<size_t>(n));
  }
  // Entries of the backing root that are not the store's own files.
  size_t BackingEntries() {
    size_t n = 0;
    for (const std::string& name : ListDir(B(""))) {
      if (name.starts_with("modelvault.") || name == ".mvdir" || name.ends_with(".name")) continue;
      ++n;
    }
    return n;
  }
};

TEST_F(PosixLinksTest, UnlinkWhileOpen) {
  std::string model = PatternBytes(1, 70000);
  ASSERT_EQ(WriteFile(M("f"), model), 0);
  Fd fd(::open(M("f").c_str(), O_RDWR));
  MV_ASSERT_SYS(fd.get());
  MV_ASSERT_SYS(::unlink(M("f").c_str()));
  int err = 0;
  EXPECT_FALSE(Lstat(M("f"), &err).has_value());
  EXPECT_EQ(err, ENOENT);
  struct stat st {};
  MV_ASSERT_SYS(::fstat(fd.get(), &st));
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_EQ(st.st_size, 70000);
  EXPECT_TRUE(SameBytes(PreadAll(fd.get(), 80000, 0, &err), model));
  ASSERT_EQ(PwriteAll(fd.get(), "hello", 65534), 0);
  model.replace(65534, 5, "hello");
  ASSERT_EQ(PwriteAll(fd.get(), "tail", 100000), 0);
  model.resize(100000, '\0');
  model += "tail";
  EXPECT_TRUE(SameBytes(PreadAll(fd.get(), 200000, 0, &err), model));
  MV_ASSERT_SYS(::ftruncate(fd.get(), 10));
  MV_ASSERT_SYS(::fstat(fd.get(), &st));
  EXPECT_EQ(st.st_size, 10);
  EXPECT_TRUE(SameBytes(PreadAll(fd.get(), 100, 0, &err), model.substr(0, 10)));
  MV_EXPECT_SYS(::fsync(fd.get()));
  // A new file under the old name is a different file.
  ASSERT_EQ(WriteFile(M("f"), "new"), 0);
  EXPECT_TRUE(SameBytes(PreadAll(fd.get(), 100, 0, &err), model.substr(0, 10)));
  EXPECT_TRUE(FileHolds(M("f"), "new"));
  MV_ASSERT_SYS(fd.Reset());
  ASSERT_TRUE(Unmount());
  EXPECT_EQ(BackingEntries(), 1u) << "the unlinked file's backing file was left behind";
  ASSERT_TRUE(Mount());
  EXPECT_TRUE(FileHolds(M("f"), "new"));
}

TEST_F(PosixLinksTest, SymlinksRelativeAbsoluteAndLong) {
  std::string long_target;
  while (long_target.size() < 1000) long_target += "dir/";
  long_target.resize(1000);
  ASSERT_EQ(long_target.size(), 1000u);
  MV_ASSERT_SYS(::symlink("target/rel/x", M("rel").c_str()));
  MV_ASSERT_SYS(::symlink("/abs/target/path", M("abs").c_str()));
  MV_ASSERT_SYS(::symlink(long_target.c_str(), M("long").c_str()));
  for (int pass = 0; pass < 2; ++pass) {
    EXPECT_EQ(ReadLink(M("rel")), "target/rel/x");
    EXPECT_EQ(ReadLink(M("abs")), "/abs/target/path");
    EXPECT_EQ(ReadLink(M("long")), long_target);
    const auto st = Lstat(M("long"));
    ASSERT_TRUE(st.has_value());
    EXPECT_TRUE(S_ISLNK(st->st_mode));
    EXPECT_EQ(st->st_size, 1000) << "lstat st_size of a symlink is its target's length";
    EXPECT_EQ(Lstat(M("rel"))->st_size, 12);
    if (pass == 0) {
      ASSERT_TRUE(Remount());
    }
  }
  MV_EXPECT_ERRNO(::symlink("x", M("rel").c_str()), EEXIST);
  ASSERT_EQ(WriteFile(M("plain"), "plain"), 0);
  char buf[16];
  MV_EXPECT_ERRNO(::readlink(M("plain").c_str(), buf, sizeof buf), EINVAL);
  // readlink with a short buffer truncates.
  EXPECT_EQ(::readlink(M("rel").c_str(), buf, 6), 6);
  EXPECT_EQ(std::string(buf, 6), "target");
}

TEST_F(PosixLinksTest, SymlinksResolveInsideTheMount) {
  MV_ASSERT_SYS(::mkdir(M("d").c_str(), 0755));
  ASSERT_EQ(WriteFile(M("real"), "real content"), 0);
  MV_ASSERT_SYS(::symlink("real", M("l1").c_str()));
  MV_ASSERT_SYS(::symlink("../real", M("d/l2").c_str()));
  MV_ASSERT_SYS(::symlink("d", M("ldir").c_str()));
  MV_ASSERT_SYS(::symlink(M("real").c_str(), M("labs").c_str()));
  MV_ASSERT_SYS(::symlink("nowhere", M("dangling").c_str()));
  EXPECT_TRUE(FileHolds(M("l1"), "real content"));
  EXPECT_TRUE(FileHolds(M("d/l2"), "real content"));
  EXPECT_TRUE(FileHolds(M("ldir/l2"), "real content"));
  EXPECT_TRUE(FileHolds(M("labs"), "real content"));
  struct stat st {};
  MV_ASSERT_SYS(::stat(M("l1").c_str(), &st));
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 12);
  MV_EXPECT_ERRNO(::open(M("dangling").c_str(), O_RDONLY), ENOENT);
  MV_EXPECT_ERRNO(::open(M("l1").c_str(), O_RDONLY | O_NOFOLLOW), ELOOP);
  MV_ASSERT_SYS(::rename(M("d/l2").c_str(), M("l2moved").c_str()));
  EXPECT_EQ(ReadLink(M("l2moved")), "../real");
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M("l1"), "real content"));
  EXPECT_TRUE(FileHolds(M("ldir/../l1"), "real content"));
  EXPECT_EQ(ReadLink(M("l2moved")), "../real");
  MV_EXPECT_SYS(::unlink(M("l1").c_str()));
  EXPECT_TRUE(FileHolds(M("real"), "real content")) << "unlinking a symlink hit its target";
}

TEST_F(PosixLinksTest, HardLinks) {
  MV_ASSERT_SYS(::mkdir(M("d").c_str(), 0755));
  ASSERT_EQ(WriteFile(M("a"), PatternBytes(2, 10000)), 0);
  MV_ASSERT_SYS(::link(M("a").c_str(), M("b").c_str()));
  auto sa = Lstat(M("a"));
  auto sb = Lstat(M("b"));
  ASSERT_TRUE(sa && sb);
  EXPECT_EQ(sa->st_nlink, 2u);
  EXPECT_EQ(sb->st_nlink, 2u);
  EXPECT_EQ(sa->st_ino, sb->st_ino);
  {
    Fd fa(::open(M("a").c_str(), O_WRONLY));
    MV_ASSERT_SYS(fa.get());
    ASSERT_EQ(PwriteAll(fa.get(), "through a", 5000), 0);
  }
  std::string model = PatternBytes(2, 10000);
  model.replace(5000, 9, "through a");
  EXPECT_TRUE(FileHolds(M("b"), model));
  MV_ASSERT_SYS(::link(M("b").c_str(), M("d/c").c_str()));
  EXPECT_EQ(Lstat(M("a"))->st_nlink, 3u);
  MV_EXPECT_ERRNO(::link(M("d").c_str(), M("dirlink").c_str()), EPERM);
  MV_EXPECT_ERRNO(::link(M("a").c_str(), M("b").c_str()), EEXIST);
  MV_EXPECT_ERRNO(::link(M("missing").c_str(), M("x").c_str()), ENOENT);

  ASSERT_TRUE(Remount());
  sa = Lstat(M("a"));
  const auto sc = Lstat(M("d/c"));
  ASSERT_TRUE(sa && sc);
  EXPECT_EQ(sa->st_nlink, 3u);
  EXPECT_EQ(sa->st_ino, sc->st_ino) << "names of one file must be one inode after a remount";
  EXPECT_TRUE(FileHolds(M("d/c"), model));
  // After the remount: write through one name, read through another (one page cache).
  {
    Fd fc(::open(M("d/c").c_str(), O_RDWR));
    MV_ASSERT_SYS(fc.get());
    Fd fb(::open(M("b").c_str(), O_RDONLY));
    MV_ASSERT_SYS(fb.get());
    int err = 0;
    EXPECT_TRUE(SameBytes(PreadAll(fb.get(), 20000, 0, &err), model));
    ASSERT_EQ(PwriteAll(fc.get(), "via c", 1), 0);
    model.replace(1, 5, "via c");
    EXPECT_TRUE(SameBytes(PreadAll(fb.get(), 20000, 0, &err), model));
  }
  MV_ASSERT_SYS(::unlink(M("a").c_str()));
  EXPECT_EQ(Lstat(M("b"))->st_nlink, 2u);
  EXPECT_TRUE(FileHolds(M("b"), model));
  MV_ASSERT_SYS(::rename(M("b").c_str(), M("d/c").c_str()));  // same file: a no-op
  EXPECT_TRUE(Lstat(M("b")).has_value());
  MV_ASSERT_SYS(::unlink(M("d/c").c_str()));
  EXPECT_EQ(Lstat(M("b"))->st_nlink, 1u);
  ASSERT_TRUE(Remount());
  EXPECT_EQ(Lstat(M("b"))->st_nlink, 1u);
  EXPECT_TRUE(FileHolds(M("b"), model));
}

// The kernel writes a file's cached times back after its last name is gone; that request,
// and anything asked through an O_PATH descriptor, must find the object. A refused one
// was kept by the kernel as a write-back error and failed the next syncfs(2) (`sync -f`)
// of the whole mount with ENOENT.
TEST_F(PosixLinksTest, LastLinkGoneLeavesNoErrorBehind) {
  auto syncfs_mount = [&] {
    Fd root(::open(M("").c_str(), O_RDONLY | O_DIRECTORY));
    return root.get() < 0 ? -1 : ::syncfs(root.get());
  };
  ASSERT_EQ(WriteFile(M("written"), "weights"), 0);
  MV_ASSERT_SYS(::unlink(M("written").c_str()));
  MV_EXPECT_SYS(syncfs_mount());

  ASSERT_EQ(WriteFile(M("old"), "old"), 0);
  ASSERT_EQ(WriteFile(M("new"), "new"), 0);
  MV_ASSERT_SYS(::rename(M("new").c_str(), M("old").c_str()));  // "old"'s file goes
  MV_EXPECT_SYS(syncfs_mount());
  EXPECT_TRUE(FileHolds(M("old"), "new"));

  ASSERT_EQ(WriteFile(M("held"), "12345"), 0);
  Fd path(::open(M("held").c_str(), O_PATH));
  MV_ASSERT_SYS(path.get());
  MV_ASSERT_SYS(::unlink(M("held").c_str()));
  struct stat st;
  MV_ASSERT_SYS(::fstat(path.get(), &st));
  EXPECT_EQ(st.st_size, 5);
  EXPECT_EQ(st.st_nlink, 0u);
  MV_EXPECT_SYS(syncfs_mount());
}

}  // namespace
}  // namespace modelvault::fs::test
