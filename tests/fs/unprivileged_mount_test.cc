// A store mounted by a user other than root. The daemon then runs as that user and is held
// to the modes of the backing files and directories, which are the modes its owner gave
// them through the mount; it must still do for that owner what a local filesystem does:
// read a file made read-only, write one made write-only, make a directory of mode 0555 or
// 0, and remove one.
//
// The owner's requests come from real processes under its uid (the kernel admits no one
// else to a mount without allow_other, root included).
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <optional>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"
#include "tests/fs/run_as.h"

namespace modelvault::fs::test {
namespace {

// fusermount3 wants the mounting user to have a name: "nobody" has one everywhere.
Identity Nobody() {
  const struct passwd* pw = ::getpwnam("nobody");
  return pw ? Identity{pw->pw_uid, pw->pw_gid, {}} : Identity{65534, 65534, {}};
}
const Identity kOwner = Nobody();

class UnprivilegedMountTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = false}; }

  void SetUp() override {
    MountFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // The store, its key and the rollback state belong to the user who mounts.
    ASSERT_EQ(::chmod(root().c_str(), 0755), 0);
    const std::string owner = std::to_string(kOwner.uid) + ":" + std::to_string(kOwner.gid);
    const CliResult chown = RunCommand({"chown", "-R", owner, root()});
    ASSERT_TRUE(chown.ok()) << chown.Describe();
    ASSERT_EQ(ExecAs(kOwner, {ModelvaultBinary(), "mount", backing(), mountpoint(), "--keyfile",
                              keyfile()}),
              0)
        << "modelvault mount as uid " << kOwner.uid << " failed";
    ASSERT_TRUE(IsMountPoint(mountpoint()));
  }

  void TearDown() override {
    if (IsMountPoint(mountpoint())) {
      const CliResult umount = RunCli({"umount", mountpoint()});
      EXPECT_TRUE(umount.ok()) << umount.Describe();
    }
    MountFixture::TearDown();
  }

  // Runs `fn` as the owner with umask 0; its return value (0 or an errno).
  int AsOwner(const std::function<int()>& fn) {
    return RunAs(kOwner, [&] {
      ::umask(0);
      return fn();
    });
  }
};

// 0 if `path` holds exactly `expected`, else an errno (EIO for other contents).
int Holds(const std::string& path, const std::string& expected) {
  int err = 0;
  std::optional<std::string> got = ReadFile(path, &err);
  if (!got) return err;
  return *got == expected ? 0 : EIO;
}

// 0 if `path` has permission bits `mode`, else an errno (EIO for another mode).
int HasMode(const std::string& path, mode_t mode) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno;
  return (st.st_mode & 07777) == mode ? 0 : EIO;
}

TEST_F(UnprivilegedMountTest, ReadOnlyFilesAreStillRead) {
  EXPECT_EQ(AsOwner([&] {
              if (int err = WriteFile(M("f"), "weights", 0644); err != 0) return err;
              if (::chmod(M("f").c_str(), 0444) != 0) return errno;
              if (int err = Holds(M("f"), "weights"); err != 0) return err;
              if (::chmod(M("f").c_str(), 0400) != 0) return errno;
              return Holds(M("f"), "weights");
            }),
            0);
}

TEST_F(UnprivilegedMountTest, WriteOnlyFilesAreStillWrittenAndKeepTheirMode) {
  EXPECT_EQ(AsOwner([&] {
              if (int err = WriteFile(M("w"), "log", 0644); err != 0) return err;
              if (::chmod(M("w").c_str(), 0200) != 0) return errno;
              Fd fd(::open(M("w").c_str(), O_WRONLY | O_APPEND));
              if (!fd.valid()) return errno;
              if (::write(fd.get(), "+more", 5) != 5) return errno;
              if (fd.Reset() != 0) return errno;
              if (int err = HasMode(M("w"), 0200); err != 0) return err;
              if (::chmod(M("w").c_str(), 0600) != 0) return errno;
              return Holds(M("w"), "log+more");
            }),
            0);
}

TEST_F(UnprivilegedMountTest, DirectoriesWithoutOwnerWriteAreMadeAndRemoved) {
  for (mode_t mode : {0555, 0500, 0}) {
    SCOPED_TRACE(::testing::Message() << std::oct << mode);
    EXPECT_EQ(AsOwner([&] {
                if (::mkdir(M("d").c_str(), mode) != 0) return errno;
                if (int err = HasMode(M("d"), mode); err != 0) return err;
                return ::rmdir(M("d").c_str()) == 0 ? 0 : errno;
              }),
              0);
  }
}

TEST_F(UnprivilegedMountTest, EmptyDirectoryWithoutOwnerWriteIsReplaced) {
  EXPECT_EQ(AsOwner([&] {
              if (::mkdir(M("src").c_str(), 0755) != 0) return errno;
              if (::mkdir(M("dst").c_str(), 0) != 0) return errno;
              if (::rename(M("src").c_str(), M("dst").c_str()) != 0) return errno;
              return HasMode(M("dst"), 0755);
            }),
            0);
}

TEST_F(UnprivilegedMountTest, NonEmptyDirectoryWithoutOwnerWriteStaysAsItWas) {
  EXPECT_EQ(AsOwner([&] {
              if (::mkdir(M("d").c_str(), 0755) != 0) return errno;
              if (int err = WriteFile(M("d/f"), "x", 0644); err != 0) return err;
              if (::chmod(M("d").c_str(), 0555) != 0) return errno;
              return ::rmdir(M("d").c_str()) == 0 ? 0 : errno;
            }),
            ENOTEMPTY);
  EXPECT_EQ(AsOwner([&] {
              if (int err = HasMode(M("d"), 0555); err != 0) return err;
              return Holds(M("d/f"), "x");
            }),
            0);
}

}  // namespace
}  // namespace modelvault::fs::test
