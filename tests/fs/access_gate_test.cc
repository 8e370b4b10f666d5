// The access gate on real mounts, against real processes of other users: admitted users
// read, everyone else gets EACCES for every way in (open, stat, readdir, mmap, create),
// also right after an admitted process has filled the kernel's caches; groups, programs,
// root and the config's access list.
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"
#include "tests/fs/run_as.h"

namespace modelvault::fs::test {
namespace {

// Users and groups that exist only as numbers; the kernel and FUSE need nothing more.
const Identity kReader{41001, 41001, {}};
const Identity kStranger{41002, 41002, {}};
const Identity kGroupMember{41003, 41003, {42000}};
const Identity kRoot{0, 0, {}};

class AccessGateTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = false}; }

  // A model file and a directory, readable by everyone as far as modes go, so that only the
  // gate stands between other users and the plaintext.
  void SetUp() override {
    MountFixture::SetUp();
    if (IsSkipped()) return;
    // The test's directory (mkdtemp makes it 0700) must let other users walk to the mount.
    ASSERT_EQ(::chmod(root().c_str(), 0755), 0);
    ASSERT_TRUE(Mount());
    ASSERT_EQ(::chmod(mountpoint().c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(M("models").c_str(), 0755), 0);
    model_ = PatternBytes(7, 300000);
    ASSERT_EQ(WriteFile(M("models/model.bin"), model_), 0);
    ASSERT_TRUE(Unmount());
  }
  ::testing::AssertionResult MountWith(const std::vector<std::string>& access) {
    return Mount(backing(), mountpoint(), keyfile(), access);
  }

  std::string model_;
};

TEST_F(AccessGateTest, ByDefaultOnlyTheUserWhoMountedEnters) {
  ASSERT_TRUE(MountWith({}));
  EXPECT_TRUE(FileHolds(M("models/model.bin"), model_));
  EXPECT_EQ(OpenAndReadAs(kReader, M("models/model.bin")), EACCES);
  EXPECT_EQ(StatAs(kReader, M("models")), EACCES);
  EXPECT_EQ(ListAs(kReader, mountpoint()), EACCES);
}

TEST_F(AccessGateTest, AnAdmittedUserReadsAndOthersSeeNothingEvenWhenCachesAreWarm) {
  ASSERT_TRUE(MountWith({"--allow-uid", "41001"}));
  const std::string model = M("models/model.bin");
  // The reader fills the page cache, the dentry cache and the attribute cache...
  ASSERT_EQ(OpenAndReadAs(kReader, model), 0);
  ASSERT_EQ(MmapAs(kReader, model), 0);
  ASSERT_EQ(StatAs(kReader, model), 0);
  ASSERT_EQ(ListAs(kReader, M("models")), 0);
  // ...and a stranger, right after, gets none of it.
  EXPECT_EQ(OpenAndReadAs(kStranger, model), EACCES);
  EXPECT_EQ(MmapAs(kStranger, model), EACCES);
  EXPECT_EQ(StatAs(kStranger, model), EACCES);
  EXPECT_EQ(StatAs(kStranger, M("models")), EACCES);
  EXPECT_EQ(StatAs(kStranger, mountpoint()), EACCES);
  EXPECT_EQ(ListAs(kStranger, mountpoint()), EACCES);
  EXPECT_EQ(ListAs(kStranger, M("models")), EACCES);
  EXPECT_EQ(StatAs(kStranger, M("models/no-such-file")), EACCES);  // not even absence
  EXPECT_EQ(CreateAs(kStranger, M("models/planted")), EACCES);
  // The reader is still served, from the same caches.
  EXPECT_EQ(OpenAndReadAs(kReader, model), 0);
}

// A process that entered while admitted (its working directory is inside the mount) and
// then became someone else walks from there, past the root's permission check: only
// uncached directory entries stop it from reading names an admitted process looked up.
TEST_F(AccessGateTest, AProcessThatLeftTheAdmittedUsersKeepsNothingThroughItsWorkingDirectory) {
  ASSERT_TRUE(MountWith({"--allow-uid", "root", "--allow-uid", "41001"}));
  ASSERT_EQ(OpenAndReadAs(kReader, M("models/model.bin")), 0);
  int result = RunAs(kRoot, [&] {
    if (chdir(M("models").c_str()) != 0) return 100;
    const gid_t none[] = {kStranger.gid};
    if (setgroups(1, none) != 0 || setgid(kStranger.gid) != 0 || setuid(kStranger.uid) != 0) {
      return 101;
    }
    // Asking only for the size, as `stat -c %s` does: no atime to refresh, so a cached
    // entry and cached attributes would answer without any request to the daemon.
    struct statx stx;
    if (statx(AT_FDCWD, "model.bin", 0, STATX_SIZE, &stx) == 0) return 0;  // leaked
    return errno;
  });
  EXPECT_EQ(result, EACCES);
}

TEST_F(AccessGateTest, RootIsRefusedUnlessListed) {
  ASSERT_TRUE(MountWith({"--allow-uid", "41001"}));
  EXPECT_EQ(OpenAndReadAs(kReader, M("models/model.bin")), 0);
  EXPECT_EQ(OpenAndReadAs(kRoot, M("models/model.bin")), EACCES);
  EXPECT_EQ(ListAs(kRoot, mountpoint()), EACCES);
  ASSERT_TRUE(Unmount());
  ASSERT_TRUE(MountWith({"--allow-uid", "41001", "--allow-uid", "root"}));
  EXPECT_EQ(OpenAndReadAs(kRoot, M("models/model.bin")), 0);
}

TEST_F(AccessGateTest, WritesOfAnAdmittedUserReachTheStoreWhenRootIsNotListed) {
  ASSERT_TRUE(MountWith({}));
  ASSERT_EQ(::chmod(M("models").c_str(), 0777), 0);
  ASSERT_TRUE(Unmount());
  // The kernel writes cached pages back as no process (uid 0): the gate must not refuse them.
  ASSERT_TRUE(MountWith({"--allow-uid", "41001"}));
  const std::string weights = PatternBytes(9, 200000);
  EXPECT_EQ(RunAs(kReader,
                  [&] {
                    Fd fd(::open(M("models/new.bin").c_str(), O_CREAT | O_WRONLY, 0644));
                    if (!fd.valid()) return errno;
                    if (int err = PwriteAll(fd.get(), weights, 0); err != 0) return err;
                    if (::fsync(fd.get()) != 0) return errno;
                    return fd.Reset() == 0 ? 0 : errno;
                  }),
            0);
  ASSERT_TRUE(Unmount());
  ASSERT_TRUE(MountWith({}));
  EXPECT_TRUE(FileHolds(M("models/new.bin"), weights));
}

TEST_F(AccessGateTest, MembersOfAnAdmittedGroupEnter) {
  ASSERT_TRUE(MountWith({"--allow-gid", "42000"}));
  EXPECT_EQ(OpenAndReadAs(kGroupMember, M("models/model.bin")), 0);        // supplementary group
  EXPECT_EQ(OpenAndReadAs({41004, 42000, {}}, M("models/model.bin")), 0);  // primary group
  EXPECT_EQ(OpenAndReadAs(kStranger, M("models/model.bin")), EACCES);
}

TEST_F(AccessGateTest, OnlyTheListedProgramsOfAnAdmittedUserEnter) {
  ASSERT_TRUE(MountWith({"--allow-uid", "41001", "--allow-exe", "/bin/cat"}));
  const std::string model = M("models/model.bin");
  EXPECT_EQ(ExecAs(kReader, {"/bin/cat", model}), 0);
  EXPECT_NE(ExecAs(kReader, {"/usr/bin/head", "-c", "10", model}), 0);
  EXPECT_NE(ExecAs(kReader, {"/usr/bin/stat", model}), 0);
  EXPECT_NE(ExecAs(kStranger, {"/bin/cat", model}), 0);  // the right program, the wrong user
}

TEST_F(AccessGateTest, AChangedConfigTakesEffectAtTheNextMount) {
  auto write_config = [&](const std::string& uid) {
    std::ofstream(T("mount.yaml"))
        << "backing: " << backing() << "\nmountpoint: " << mountpoint()
        << "\nunlock:\n  keyfile: " << keyfile() << "\naccess:\n  uids: [" << uid << "]\n";
  };
  write_config("41001");
  ASSERT_TRUE(RunCli({"mount", "--config", T("mount.yaml")}).ok());
  EXPECT_EQ(OpenAndReadAs(kReader, M("models/model.bin")), 0);
  EXPECT_EQ(OpenAndReadAs(kStranger, M("models/model.bin")), EACCES);
  write_config("41002");
  ASSERT_TRUE(RunCli({"umount", mountpoint()}).ok());
  ASSERT_TRUE(RunCli({"mount", "--config", T("mount.yaml")}).ok());
  EXPECT_EQ(OpenAndReadAs(kStranger, M("models/model.bin")), 0);
  EXPECT_EQ(OpenAndReadAs(kReader, M("models/model.bin")), EACCES);
  ASSERT_TRUE(RunCli({"umount", mountpoint()}).ok());
}

TEST_F(AccessGateTest, BadAccessListsAreRefusedBeforeMounting) {
  EXPECT_TRUE(FailedCleanly(RunCli({"mount", backing(), mountpoint(), "--keyfile", keyfile(),
                                    "--allow-uid", "no-such-user-here"}),
                            "no-such-user-here"));
  EXPECT_TRUE(FailedCleanly(RunCli({"mount", backing(), mountpoint(), "--keyfile", keyfile(),
                                    "--allow-uid", "1", "--allow-exe", "/no/such/program"}),
                            "/no/such/program"));
  EXPECT_FALSE(IsMountPoint(mountpoint()));
}

}  // namespace
}  // namespace modelvault::fs::test
