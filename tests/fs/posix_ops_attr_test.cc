// Attributes on a mounted store: modes, owners, nanosecond timestamps, statfs, fsync, and
// user.* extended attributes (values up to 4000 bytes), each checked again after a remount.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

using PosixAttrTest = MountFixture;

TEST_F(PosixAttrTest, ChmodSetsExactMode) {
  ASSERT_EQ(WriteFile(M("f"), "x", 0644), 0);
  MV_ASSERT_SYS(::mkdir(M("d").c_str(), 0755));
  const mode_t modes[] = {0600, 0, 0777, 04755, 02750, 0444};
  for (const mode_t mode : modes) {
    MV_ASSERT_SYS(::chmod(M("f").c_str(), mode));
    EXPECT_EQ(Lstat(M("f"))->st_mode, S_IFREG | mode) << std::oct << mode;
  }
  MV_ASSERT_SYS(::chmod(M("d").c_str(), 01777));
  EXPECT_EQ(Lstat(M("d"))->st_mode, S_IFDIR | 01777);
  {
    Fd fd(::open(M("f").c_str(), O_RDONLY));
    MV_ASSERT_SYS(fd.get());
    MV_ASSERT_SYS(::fchmod(fd.get(), 0640));
  }
  EXPECT_EQ(Lstat(M("f"))->st_mode, S_IFREG | 0640);
  ASSERT_TRUE(Remount());
  EXPECT_EQ(Lstat(M("f"))->st_mode, S_IFREG | 0640);
  EXPECT_EQ(Lstat(M("d"))->st_mode, S_IFDIR | 01777);
}

TEST_F(PosixAttrTest, NewObjectsKeepTheirSetIdBits) {
  // The daemon hands each new object to its creator with chown(2), which clears set-id
  // bits; a local filesystem keeps the ones that were asked for.
  {
    Fd fd(::open(M("suid").c_str(), O_CREAT | O_WRONLY, 04755));
    MV_ASSERT_SYS(fd.get());
  }
  {
    Fd fd(::open(M("sgid").c_str(), O_CREAT | O_WRONLY, 02755));
    MV_ASSERT_SYS(fd.get());
  }
  MV_ASSERT_SYS(::mkfifo(M("fifo").c_str(), 04644));
  MV_ASSERT_SYS(::mkdir(M("sgdir").c_str(), 0755));
  MV_ASSERT_SYS(::chmod(M("sgdir").c_str(), 02755));
  MV_ASSERT_SYS(::mkdir(M("sgdir/child").c_str(), 0755));
  ASSERT_TRUE(Remount());
  EXPECT_EQ(Lstat(M("suid"))->st_mode & 07777, 04755u);
  EXPECT_EQ(Lstat(M("sgid"))->st_mode & 07777, 02755u);
  EXPECT_EQ(Lstat(M("fifo"))->st_mode & 07777, 04644u);
  EXPECT_EQ(Lstat(M("sgdir/child"))->st_mode & 07777, 02755u) << "setgid dirs pass it on";
}

TEST_F(PosixAttrTest, ChownSetsOwnerAndGroup) {
  ASSERT_EQ(WriteFile(M("f"), "x"), 0);
  MV_ASSERT_SYS(::mkdir(M("d").c_str(), 0755));
  MV_ASSERT_SYS(::symlink("f", M("l").c_str()));
  MV_ASSERT_SYS(::chown(M("f").c_str(), 1234, 5678));
  EXPECT_EQ(Lstat(M("f"))->st_uid, 1234u);
  EXPECT_EQ(Lstat(M("f"))->st_gid, 5678u);
  {
    Fd fd(::open(M("f").c_str(), O_RDONLY));
    MV_ASSERT_SYS(fd.get());
    MV_ASSERT_SYS(::fchown(fd.get(), 42, static_cast<gid_t>(-1)));
  }
  EXPECT_EQ(Lstat(M("f"))->st_uid, 42u);
  EXPECT_EQ(Lstat(M("f"))->st_gid, 5678u);
  MV_ASSERT_SYS(::lchown(M("l").c_str(), 7, 8));
  EXPECT_EQ(Lstat(M("l"))->st_uid, 7u);
  EXPECT_EQ(Lstat(M("l"))->st_gid, 8u);
  EXPECT_EQ(Lstat(M("f"))->st_uid, 42u) << "lchown followed the link";
  MV_ASSERT_SYS(::chown(M("d").c_str(), 65534, 65534));
  ASSERT_TRUE(Remount());
  EXPECT_EQ(Lstat(M("f"))->st_uid, 42u);
  EXPECT_EQ(Lstat(M("f"))->st_gid, 5678u);
  EXPECT_EQ(Lstat(M("l"))->st_uid, 7u);
  EXPECT_EQ(Lstat(M("d"))->st_uid, 65534u);
  EXPECT_EQ(Lstat(M("d"))->st_gid, 65534u);
}

bool SameTime(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

std::string Show(const struct timespec& t) {
  return std::to_string(t.tv_sec) + "." + std::to_string(t.tv_nsec);
}

TEST_F(PosixAttrTest, UtimensatSetsNanosecondTimes) {
  ASSERT_EQ(WriteFile(M("f"), "x"), 0);
  MV_ASSERT_SYS(::mkdir(M("d").c_str(), 0755));
  MV_ASSERT_SYS(::symlink("f", M("l").c_str()));
  const struct timespec f_times[2] = {{1234567890, 123456789}, {1500000000, 987654321}};
  const struct timespec d_times[2] = {{1, 1}, {8589934592, 999999999}};  // 2242
  const struct timespec l_times[2] = {{1600000000, 5}, {1600000001, 6}};
  MV_ASSERT_SYS(::utimensat(AT_FDCWD, M("f").c_str(), f_times, 0));
  MV_ASSERT_SYS(::utimensat(AT_FDCWD, M("d").c_str(), d_times, 0));
  MV_ASSERT_SYS(::utimensat(AT_FDCWD, M("l").c_str(), l_times, AT_SYMLINK_NOFOLLOW));
  for (int pass = 0; pass < 2; ++pass) {
    const auto f = Lstat(M("f"));
    const auto d = Lstat(M("d"));
    const auto l = Lstat(M("l"));
    ASSERT_TRUE(f && d && l);
    EXPECT_TRUE(SameTime(f->st_atim, f_times[0])) << Show(f->st_atim);
    EXPECT_TRUE(SameTime(f->st_mtim, f_times[1])) << Show(f->st_mtim);
    EXPECT_TRUE(SameTime(d->st_mtim, d_times[1])) << Show(d->st_mtim);
    EXPECT_TRUE(SameTime(l->st_mtim, l_times[1])) << Show(l->st_mtim);
    if (pass == 0) {
      ASSERT_TRUE(Remount());
    }
  }
  // UTIME_OMIT leaves atime alone.
  const struct timespec omit_atime[2] = {{0, UTIME_OMIT}, {1700000000, 424242}};
  MV_ASSERT_SYS(::utimensat(AT_FDCWD, M("f").c_str(), omit_atime, 0));
  auto f = Lstat(M("f"));
  EXPECT_TRUE(SameTime(f->st_mtim, omit_atime[1])) << Show(f->st_mtim);
  EXPECT_TRUE(SameTime(f->st_atim, f_times[0])) << Show(f->st_atim);
  // futimens works on a descriptor.
  {
    Fd fd(::open(M("f").c_str(), O_RDONLY));
    MV_ASSERT_SYS(fd.get());
    MV_ASSERT_SYS(::futimens(fd.get(), f_times));
  }
  f = Lstat(M("f"));
  EXPECT_TRUE(SameTime(f->st_mtim, f_times[1])) << Show(f->st_mtim);
  EXPECT_TRUE(SameTime(f->st_atim, f_times[0])) << Show(f->st_atim);
  // Writing moves mtime to now.
  const time_t before = ::time(nullptr);
  {
    Fd fd(::open(M("f").c_str(), O_WRONLY));
    MV_ASSERT_SYS(fd.get());
    ASSERT_EQ(::write(fd.get(), "y", 1), 1);
  }
  ASSERT_TRUE(Remount());
  EXPECT_GE(Lstat(M("f"))->st_mtim.tv_sec, before - 1) << "write did not update mtime";
}

TEST_F(PosixAttrTest, OpenWithoutReadKeepsAtime) {
  // As on any local filesystem, only reading a file moves its atime; here atime is older
  // than mtime, so a relatime backing filesystem would move it on any backing read.
  ASSERT_EQ(WriteFile(M("f"), "x"), 0);
  const struct timespec times[2] = {{1234567890, 123456789}, {1500000000, 987654321}};
  MV_ASSERT_SYS(::utimensat(AT_FDCWD, M("f").c_str(), times, 0));
  ASSERT_TRUE(Remount());
  {
    Fd fd(::open(M("f").c_str(), O_RDONLY));
    MV_ASSERT_SYS(fd.get());
  }
  const auto f = Lstat(M("f"));
  EXPECT_TRUE(SameTime(f->st_atim, times[0])) << "open() moved atime to " << Show(f->st_atim);
}

TEST_F(PosixAttrTest, StatfsWorks) {
  struct statfs st {};
  MV_ASSERT_SYS(::statfs(M("").c_str(), &st));
  EXPECT_GT(st.f_bsize, 0);
  EXPECT_GT(st.f_blocks, 0u);
  EXPECT_LE(st.f_bfree, st.f_blocks);
  EXPECT_LE(st.f_bavail, st.f_blocks);
  EXPECT_GT(st.f_namelen, 0);
  ASSERT_EQ(WriteFile(M("f"), "x"), 0);
  Fd fd(::open(M("f").c_str(), O_RDONLY));
  MV_ASSERT_SYS(fd.get());
  MV_EXPECT_SYS(::fstatfs(fd.get(), &st));
}

TEST_F(PosixAttrTest, FsyncAndFdatasyncSucceed) {
  Fd fd(::open(M("f").c_str(), O_RDWR | O_CREAT, 0644));
  MV_ASSERT_SYS(fd.get());
  ASSERT_EQ(PwriteAll(fd.get(), PatternBytes(1, 100000), 0), 0);
  EXPECT_EQ(::fsync(fd.get()), 0) << ErrnoName(errno);
  ASSERT_EQ(PwriteAll(fd.get(), "more", 5), 0);
  EXPECT_EQ(::fdatasync(fd.get()), 0) << ErrnoName(errno);
  Fd ro(::open(M("f").c_str(), O_RDONLY));
  MV_ASSERT_SYS(ro.get());
  EXPECT_EQ(::fsync(ro.get()), 0) << ErrnoName(errno);
  Fd dir(::open(M("").c_str(), O_RDONLY | O_DIRECTORY));
  MV_ASSERT_SYS(dir.get());
  EXPECT_EQ(::fsync(dir.get()), 0) << ErrnoName(errno);
  ::sync();
}

std::set<std::string> UserXattrs(const std::string& path, std::set<std::string>* others) {
  const ssize_t size = ::llistxattr(path.c_str(), nullptr, 0);
  EXPECT_GE(size, 0) << "llistxattr size probe: " << ErrnoName(errno);
  std::string buf(static_cast<size_t>(std::max<ssize_t>(size, 0)) + 1, '\0');
  const ssize_t n = ::llistxattr(path.c_str(), buf.data(), buf.size());
  EXPECT_EQ(n, size) << "llistxattr returned a different size than its probe";
  std::set<std::string> names;
  for (ssize_t i = 0; i < n;) {
    const std::string name(buf.data() + i);
    (name.starts_with("user.") ? names : *others).insert(name);
    i += static_cast<ssize_t>(name.size()) + 1;
  }
  return names;
}

std::string GetXattr(const std::string& path, const std::string& name) {
  const ssize_t size = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
  if (size < 0) return "<size probe: " + ErrnoName(errno) + ">";
  std::string value(static_cast<size_t>(size), '\0');
  const ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
  if (n < 0) return "<get: " + ErrnoName(errno) + ">";
  value.resize(static_cast<size_t>(n));
  return value;
}

TEST_F(PosixAttrTest, UserXattrs) {
  ASSERT_EQ(WriteFile(M("f"), "x"), 0);
  MV_ASSERT_SYS(::mkdir(M("d").c_str(), 0755));
  const std::string f = M("f");
  const std::string big = RandomBytes(1, 2000);  // binary, with NUL bytes
  MV_ASSERT_SYS(::setxattr(f.c_str(), "user.small", "v", 1, 0));
  MV_ASSERT_SYS(::setxattr(f.c_str(), "user.big", big.data(), big.size(), 0));
  MV_ASSERT_SYS(::setxattr(f.c_str(), "user.empty", "", 0, 0));
  MV_ASSERT_SYS(::setxattr(M("d").c_str(), "user.on.dir", "dir value", 9, 0));
  EXPECT_EQ(GetXattr(f, "user.small"), "v");
  EXPECT_TRUE(SameBytes(GetXattr(f, "user.big"), big));
  EXPECT_EQ(GetXattr(f, "user.empty"), "");
  EXPECT_EQ(::getxattr(f.c_str(), "user.big", nullptr, 0), 2000) << "size probe";
  char small[10];
  MV_EXPECT_ERRNO(::getxattr(f.c_str(), "user.big", small, sizeof small), ERANGE);
  MV_EXPECT_ERRNO(::getxattr(f.c_str(), "user.missing", small, sizeof small), ENODATA);
  MV_EXPECT_ERRNO(::setxattr(f.c_str(), "user.small", "w", 1, XATTR_CREATE), EEXIST);
  MV_EXPECT_ERRNO(::setxattr(f.c_str(), "user.nope", "w", 1, XATTR_REPLACE), ENODATA);
  MV_ASSERT_SYS(::setxattr(f.c_str(), "user.small", "replaced", 8, XATTR_REPLACE));
  std::set<std::string> others;
  EXPECT_EQ(UserXattrs(f, &others),
            (std::set<std::string>{"user.big", "user.empty", "user.small"}));
  EXPECT_TRUE(others.empty()) << "listxattr shows non-user names, first: " << *others.begin();
  char tiny[4];
  MV_EXPECT_ERRNO(::listxattr(f.c_str(), tiny, sizeof tiny), ERANGE);

  ASSERT_TRUE(Remount());
  EXPECT_EQ(GetXattr(f, "user.small"), "replaced");
  EXPECT_TRUE(SameBytes(GetXattr(f, "user.big"), big));
  EXPECT_EQ(GetXattr(M("d"), "user.on.dir"), "dir value");
  MV_ASSERT_SYS(::removexattr(f.c_str(), "user.small"));
  MV_EXPECT_ERRNO(::getxattr(f.c_str(), "user.small", small, sizeof small), ENODATA);
  MV_EXPECT_ERRNO(::removexattr(f.c_str(), "user.small"), ENODATA);
  {
    Fd fd(::open(f.c_str(), O_RDONLY));
    MV_ASSERT_SYS(fd.get());
    MV_ASSERT_SYS(::fsetxattr(fd.get(), "user.viafd", "fd", 2, 0));
    char buf[8];
    EXPECT_EQ(::fgetxattr(fd.get(), "user.viafd", buf, sizeof buf), 2);
  }
  // Renaming a file keeps its attributes.
  MV_ASSERT_SYS(::rename(f.c_str(), M("d/moved").c_str()));
  ASSERT_TRUE(Remount());
  others.clear();
  EXPECT_EQ(UserXattrs(M("d/moved"), &others),
            (std::set<std::string>{"user.big", "user.empty", "user.viafd"}));
  EXPECT_TRUE(SameBytes(GetXattr(M("d/moved"), "user.big"), big));
}

TEST_F(PosixAttrTest, UserXattrOf3900Bytes) {
  // ext4 keeps all of a file's attributes in one 4 KiB block; sealing adds 28 bytes to the
  // value and about 40 to the name (docs/FORMAT.md), so values up to about 3.9 KB fit there.
  ASSERT_EQ(WriteFile(M("f"), "x"), 0);
  const std::string value = RandomBytes(2, 3900);
  MV_ASSERT_SYS(::setxattr(M("f").c_str(), "user.weights.sha", value.data(), value.size(), 0));
  EXPECT_EQ(::getxattr(M("f").c_str(), "user.weights.sha", nullptr, 0), 3900);
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(SameBytes(GetXattr(M("f"), "user.weights.sha"), value));
}

TEST_F(PosixAttrTest, XattrTooLargeForTheBackingFilesystemFailsCleanly) {
  ASSERT_EQ(WriteFile(M("f"), "x"), 0);
  const std::string value = RandomBytes(3, 4060);
  ASSERT_EQ(::setxattr(M("f").c_str(), "user.big", value.data(), value.size(), 0), -1);
  EXPECT_TRUE(errno == ENOSPC || errno == E2BIG) << std::strerror(errno);
  EXPECT_EQ(::getxattr(M("f").c_str(), "user.big", nullptr, 0), -1);
  EXPECT_EQ(errno, ENODATA);
}

}  // namespace
}  // namespace modelvault::fs::test
