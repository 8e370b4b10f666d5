// The namespace of a mounted store: mkdir/rmdir, every kind of
// rename (plain, over a file, across directories, a populated directory, RENAME_NOREPLACE,
// RENAME_EXCHANGE), 255-byte and odd names, FIFOs. Names are encrypted with the parent
// directory's ID, so each test also looks at the tree again after a remount.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

class PosixNamespaceTest : public MountFixture {
 protected:
  std::set<std::string> Names(const std::string& dir) {
    const std::vector<std::string> list = ListDir(dir);
    return std::set<std::string>(list.begin(), list.end());
  }
};

int Rename2(const std::string& from, const std::string& to, unsigned flags) {
  return ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags);
}

TEST_F(PosixNamespaceTest, MkdirAndRmdir) {
  MV_ASSERT_SYS(::mkdir(M("d").c_str(), 0750));
  const auto st = Lstat(M("d"));
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(S_ISDIR(st->st_mode));
  EXPECT_EQ(st->st_mode & 07777, 0750u);
  MV_EXPECT_ERRNO(::mkdir(M("d").c_str(), 0755), EEXIST);
  MV_ASSERT_SYS(::mkdir(M("d/e").c_str(), 0755));
  MV_ASSERT_SYS(::mkdir(M("d/e/f").c_str(), 0755));
  ASSERT_EQ(WriteFile(M("d/e/f/file"), "x"), 0);
  MV_EXPECT_ERRNO(::rmdir(M("d").c_str()), ENOTEMPTY);
  MV_EXPECT_ERRNO(::rmdir(M("d/e/f").c_str()), ENOTEMPTY);
  MV_EXPECT_ERRNO(::rmdir(M("d/e/f/file").c_str()), ENOTDIR);
  MV_EXPECT_ERRNO(::rmdir(M("missing").c_str()), ENOENT);
  MV_EXPECT_ERRNO(::mkdir(M("missing/x").c_str(), 0755), ENOENT);
  MV_EXPECT_ERRNO(::mkdir(M("d/e/f/file/x").c_str(), 0755), ENOTDIR);
  MV_ASSERT_SYS(::unlink(M("d/e/f/file").c_str()));
  MV_EXPECT_SYS(::rmdir(M("d/e/f").c_str()));
  MV_EXPECT_ERRNO(::rmdir(M("d").c_str()), ENOTEMPTY);
  ASSERT_TRUE(Remount());
  EXPECT_EQ(Names(M("d")), std::set<std::string>{"e"});
  MV_EXPECT_SYS(::rmdir(M("d/e").c_str()));
  MV_EXPECT_SYS(::rmdir(M("d").c_str()));
  EXPECT_TRUE(Names(M("")).empty());
  int err = 0;
  EXPECT_FALSE(Lstat(M("d"), &err).has_value());
  EXPECT_EQ(err, ENOENT);
}

TEST_F(PosixNamespaceTest, RenameSimpleKeepsContentAndInode) {
  ASSERT_EQ(WriteFile(M("a"), "content of a"), 0);
  const auto before = Lstat(M("a"));
  ASSERT_TRUE(before.has_value());
  MV_ASSERT_SYS(::rename(M("a").c_str(), M("b").c_str()));
  int err = 0;
  EXPECT_FALSE(Lstat(M("a"), &err).has_value());
  EXPECT_EQ(err, ENOENT);
  const auto after = Lstat(M("b"));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->st_ino, before->st_ino);
  EXPECT_TRUE(FileHolds(M("b"), "content of a"));
  MV_EXPECT_ERRNO(::rename(M("missing").c_str(), M("c").c_str()), ENOENT);
  ASSERT_TRUE(Remount());
  EXPECT_EQ(Names(M("")), std::set<std::string>{"b"});
  EXPECT_TRUE(FileHolds(M("b"), "content of a"));
}

TEST_F(PosixNamespaceTest, RenameOverExistingFile) {
  ASSERT_EQ(WriteFile(M("a"), PatternBytes(1, 70000)), 0);
  ASSERT_EQ(WriteFile(M("b"), "old b"), 0);
  Fd old_b(::open(M("b").c_str(), O_RDONLY));
  MV_ASSERT_SYS(old_b.get());
  MV_ASSERT_SYS(::rename(M("a").c_str(), M("b").c_str()));
  EXPECT_TRUE(FileHolds(M("b"), PatternBytes(1, 70000)));
  EXPECT_EQ(Lstat(M("b"))->st_nlink, 1u);
  // The replaced file lives on through its open descriptor.
  int err = 0;
  EXPECT_EQ(PreadAll(old_b.get(), 100, 0, &err), "old b");
  EXPECT_EQ(err, 0);
  MV_ASSERT_SYS(old_b.Reset());
  ASSERT_TRUE(Remount());
  EXPECT_EQ(Names(M("")), std::set<std::string>{"b"});
  EXPECT_TRUE(FileHolds(M("b"), PatternBytes(1, 70000)));
}

TEST_F(PosixNamespaceTest, RenameAcrossDirectories) {
  MV_ASSERT_SYS(::mkdir(M("d1").c_str(), 0755));
  MV_ASSERT_SYS(::mkdir(M("d2").c_str(), 0755));
  MV_ASSERT_SYS(::mkdir(M("d2/deep").c_str(), 0755));
  ASSERT_EQ(WriteFile(M("d1/a"), "moving"), 0);
  ASSERT_EQ(WriteFile(M("d1/keep"), "stays"), 0);
  ASSERT_EQ(WriteFile(M("d2/deep/target"), "replaced"), 0);
  MV_ASSERT_SYS(::rename(M("d1/a").c_str(), M("d2/b").c_str()));
  MV_ASSERT_SYS(::rename(M("d1/keep").c_str(), M("d2/deep/target").c_str()));
  MV_ASSERT_SYS(::rename(M("d2/b").c_str(), M("top").c_str()));
  EXPECT_TRUE(Names(M("d1")).empty());
  EXPECT_EQ(Names(M("d2")), std::set<std::string>{"deep"});
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M("top"), "moving"));
  EXPECT_TRUE(FileHolds(M("d2/deep/target"), "stays"));
  EXPECT_TRUE(Names(M("d1")).empty());
}

TEST_F(PosixNamespaceTest, RenameDirectoryWithContents) {
  MV_ASSERT_SYS(::mkdir(M("src").c_str(), 0755));
  MV_ASSERT_SYS(::mkdir(M("src/sub").c_str(), 0700));
  MV_ASSERT_SYS(::mkdir(M("dst").c_str(), 0755));
  ASSERT_EQ(WriteFile(M("src/x"), "x"), 0);
  ASSERT_EQ(WriteFile(M("src/sub/y"), PatternBytes(2, 5000)), 0);
  MV_ASSERT_SYS(::symlink("../x", M("src/sub/link").c_str()));
  MV_ASSERT_SYS(::rename(M("src").c_str(), M("dst/moved").c_str()));
  EXPECT_EQ(Names(M("")), std::set<std::string>{"dst"});
  EXPECT_TRUE(FileHolds(M("dst/moved/sub/y"), PatternBytes(2, 5000)));
  EXPECT_TRUE(FileHolds(M("dst/moved/sub/link"), "x"));
  MV_EXPECT_ERRNO(::rename(M("dst").c_str(), M("dst/moved/sub/inside").c_str()), EINVAL);
  ASSERT_TRUE(Remount());
  EXPECT_EQ(Names(M("dst/moved")), (std::set<std::string>{"sub", "x"}));
  EXPECT_EQ(Names(M("dst/moved/sub")), (std::set<std::string>{"link", "y"}));
  EXPECT_TRUE(FileHolds(M("dst/moved/x"), "x"));
  EXPECT_TRUE(FileHolds(M("dst/moved/sub/y"), PatternBytes(2, 5000)));
  EXPECT_TRUE(FileHolds(M("dst/moved/sub/link"), "x"));
  EXPECT_EQ(Lstat(M("dst/moved/sub"))->st_mode & 07777, 0700u);
}

TEST_F(PosixNamespaceTest, RenameDirectoryOverDirectoriesAndTypeMismatches) {
  MV_ASSERT_SYS(::mkdir(M("a").c_str(), 0755));
  ASSERT_EQ(WriteFile(M("a/inner"), "inner"), 0);
  MV_ASSERT_SYS(::mkdir(M("empty").c_str(), 0755));
  MV_ASSERT_SYS(::mkdir(M("full").c_str(), 0755));
  ASSERT_EQ(WriteFile(M("full/f"), "f"), 0);
  ASSERT_EQ(WriteFile(M("file"), "file"), 0);
  errno = 0;
  EXPECT_EQ(::rename(M("a").c_str(), M("full").c_str()), -1);
  EXPECT_TRUE(errno == ENOTEMPTY || errno == EEXIST) << ErrnoName(errno);
  MV_EXPECT_ERRNO(::rename(M("a").c_str(), M("file").c_str()), ENOTDIR);
  MV_EXPECT_ERRNO(::rename(M("file").c_str(), M("empty").c_str()), EISDIR);
  MV_ASSERT_SYS(::rename(M("a").c_str(), M("empty").c_str()));
  EXPECT_TRUE(FileHolds(M("empty/inner"), "inner"));
  ASSERT_TRUE(Remount());
  EXPECT_EQ(Names(M("")), (std::set<std::string>{"empty", "file", "full"}));
  EXPECT_TRUE(FileHolds(M("empty/inner"), "inner"));
  EXPECT_TRUE(FileHolds(M("full/f"), "f"));
}

TEST_F(PosixNamespaceTest, RenameNoreplace) {
  ASSERT_EQ(WriteFile(M("a"), "a"), 0);
  ASSERT_EQ(WriteFile(M("b"), "b"), 0);
  MV_EXPECT_ERRNO(Rename2(M("a"), M("b"), RENAME_NOREPLACE), EEXIST);
  EXPECT_TRUE(FileHolds(M("a"), "a"));
  EXPECT_TRUE(FileHolds(M("b"), "b"));
  MV_EXPECT_SYS(Rename2(M("a"), M("c"), RENAME_NOREPLACE));
  ASSERT_TRUE(Remount());
  EXPECT_EQ(Names(M("")), (std::set<std::string>{"b", "c"}));
  EXPECT_TRUE(FileHolds(M("c"), "a"));
}

TEST_F(PosixNamespaceTest, RenameExchangeFilesAndDirectories) {
  MV_ASSERT_SYS(::mkdir(M("p1").c_str(), 0755));
  MV_ASSERT_SYS(::mkdir(M("p2").c_str(), 0755));
  ASSERT_EQ(WriteFile(M("f1"), "one"), 0);
  ASSERT_EQ(WriteFile(M("p1/f2"), PatternBytes(3, 9000)), 0);
  MV_ASSERT_SYS(::mkdir(M("p1/d1").c_str(), 0755));
  MV_ASSERT_SYS(::mkdir(M("p2/d2").c_str(), 0711));
  ASSERT_EQ(WriteFile(M("p1/d1/x"), "x in d1"), 0);
  ASSERT_EQ(WriteFile(M("p2/d2/y"), "y in d2"), 0);
  MV_ASSERT_SYS(Rename2(M("f1"), M("p1/f2"), RENAME_EXCHANGE));
  MV_ASSERT_SYS(Rename2(M("p1/d1"), M("p2/d2"), RENAME_EXCHANGE));
  EXPECT_TRUE(FileHolds(M("f1"), PatternBytes(3, 9000)));
  EXPECT_TRUE(FileHolds(M("p1/f2"), "one"));
  EXPECT_TRUE(FileHolds(M("p1/d1/y"), "y in d2"));
  EXPECT_TRUE(FileHolds(M("p2/d2/x"), "x in d1"));
  // A file and a directory trade places.
  MV_ASSERT_SYS(Rename2(M("f1"), M("p2/d2"), RENAME_EXCHANGE));
  EXPECT_TRUE(FileHolds(M("p2/d2"), PatternBytes(3, 9000)));
  EXPECT_TRUE(FileHolds(M("f1/x"), "x in d1"));
  MV_EXPECT_ERRNO(Rename2(M("p1/f2"), M("missing"), RENAME_EXCHANGE), ENOENT);
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M("p2/d2"), PatternBytes(3, 9000)));
  EXPECT_TRUE(FileHolds(M("p1/f2"), "one"));
  EXPECT_TRUE(FileHolds(M("p1/d1/y"), "y in d2"));
  EXPECT_TRUE(FileHolds(M("f1/x"), "x in d1"));
  EXPECT_EQ(Lstat(M("p1/d1"))->st_mode & 07777, 0711u);
  EXPECT_EQ(Names(M("")), (std::set<std::string>{"f1", "p1", "p2"}));
}

TEST_F(PosixNamespaceTest, LongNames) {
  const std::string n255a(255, 'a');
  std::string n255b = "b";
  while (n255b.size() < 255) n255b += static_cast<char>('0' + n255b.size() % 10);
  std::string utf8;  // 127 two-byte characters and one 'x': 255 bytes
  for (int i = 0; i < 127; ++i) utf8 += "\xc3\xa9";
  utf8 += "x";
  ASSERT_EQ(utf8.size(), 255u);
  ASSERT_EQ(WriteFile(M(n255a), "long a"), 0);
  MV_ASSERT_SYS(::mkdir(M(n255b).c_str(), 0755));
  ASSERT_EQ(WriteFile(M(n255b + "/" + utf8), "utf8"), 0);
  EXPECT_TRUE(Lstat(M(n255a)).has_value());
  EXPECT_EQ(Names(M("")), (std::set<std::string>{n255a, n255b}));
  EXPECT_EQ(Names(M(n255b)), std::set<std::string>{utf8});

  const std::string n256(256, 'c');
  MV_EXPECT_ERRNO(::open(M(n256).c_str(), O_WRONLY | O_CREAT, 0644), ENAMETOOLONG);
  MV_EXPECT_ERRNO(::mkdir(M(n256).c_str(), 0755), ENAMETOOLONG);
  struct stat st {};
  MV_EXPECT_ERRNO(::lstat(M(n256).c_str(), &st), ENAMETOOLONG);
  MV_EXPECT_ERRNO(::rename(M(n255a).c_str(), M(n256).c_str()), ENAMETOOLONG);
  MV_EXPECT_ERRNO(::symlink("t", M(n256).c_str()), ENAMETOOLONG);
  MV_EXPECT_ERRNO(::link(M(n255a).c_str(), M(n256).c_str()), ENAMETOOLONG);

  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M(n255a), "long a"));
  EXPECT_TRUE(FileHolds(M(n255b + "/" + utf8), "utf8"));
  // Long to long across directories, long to short, short to long.
  MV_ASSERT_SYS(::rename(M(n255a).c_str(), M(n255b + "/" + n255b).c_str()));
  MV_ASSERT_SYS(::rename(M(n255b + "/" + utf8).c_str(), M("short").c_str()));
  MV_ASSERT_SYS(::rename(M("short").c_str(), M(n255b + "/" + n255a).c_str()));
  EXPECT_EQ(Names(M(n255b)), (std::set<std::string>{n255a, n255b}));
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M(n255b + "/" + n255b), "long a"));
  EXPECT_TRUE(FileHolds(M(n255b + "/" + n255a), "utf8"));
  MV_EXPECT_SYS(::unlink(M(n255b + "/" + n255b).c_str()));
  MV_EXPECT_SYS(::unlink(M(n255b + "/" + n255a).c_str()));
  MV_EXPECT_SYS(::rmdir(M(n255b).c_str()));
  EXPECT_TRUE(Names(M("")).empty());
  ASSERT_TRUE(Unmount());
  // Nothing is left in the backing root but the store's own files.
  for (const std::string& name : ListDir(B(""))) {
    EXPECT_TRUE(name == ".mvdir" || name.starts_with("modelvault.")) << "leftover " << name;
  }
}

TEST_F(PosixNamespaceTest, OddCharactersInNames) {
  const std::vector<std::string> names = {
      " space ", "new\nline", "tab\t", "-dash", ".hidden", "..dots", "...", "*?[]", "back\\slash",
      "\x01\x7f\xff", "日本語", "=",
      // Names like the store's own files.
      ".mvdir", "modelvault.json", "modelvault.lock", ".L", ".Labc", ".Labc.name"};
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_EQ(WriteFile(M(names[i]), "n" + std::to_string(i)), 0) << names[i];
  }
  ASSERT_TRUE(Remount());
  EXPECT_EQ(Names(M("")), std::set<std::string>(names.begin(), names.end()));
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_TRUE(FileHolds(M(names[i]), "n" + std::to_string(i)));
  }
}

TEST_F(PosixNamespaceTest, MknodFifo) {
  MV_ASSERT_SYS(::mkfifo(M("fifo").c_str(), 0640));
  auto st = Lstat(M("fifo"));
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(S_ISFIFO(st->st_mode));
  EXPECT_EQ(st->st_mode & 07777, 0640u);
  {
    Fd reader(::open(M("fifo").c_str(), O_RDONLY | O_NONBLOCK));
    MV_ASSERT_SYS(reader.get());
    Fd writer(::open(M("fifo").c_str(), O_WRONLY | O_NONBLOCK));
    MV_ASSERT_SYS(writer.get());
    ASSERT_EQ(::write(writer.get(), "ping", 4), 4);
    char buf[8] = {};
    EXPECT_EQ(::read(reader.get(), buf, sizeof buf), 4);
    EXPECT_EQ(std::string(buf, 4), "ping");
  }
  MV_ASSERT_SYS(::mknod(M("fifo2").c_str(), S_IFIFO | 0600, 0));
  ASSERT_TRUE(Remount());
  EXPECT_EQ(Names(M("")), (std::set<std::string>{"fifo", "fifo2"}));
  st = Lstat(M("fifo2"));
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(S_ISFIFO(st->st_mode));
  MV_EXPECT_SYS(::unlink(M("fifo").c_str()));
  MV_EXPECT_SYS(::unlink(M("fifo2").c_str()));
}

}  // namespace
}  // namespace modelvault::fs::test
