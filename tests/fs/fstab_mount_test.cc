// fstab entries of type fuse.modelvault, through the real mount(8) and umount(8):
// util-linux runs mount.fuse3, which runs `modelvault BACKING MOUNTPOINT -o OPTIONS` through
// /bin/sh with no PATH of ours (mount(8) drops it), so from the shell's standard directories.
// The test process moves into a mount namespace of its own and lays a directory holding the
// binary under test over /usr/local/sbin there; nothing of that reaches the host.
#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

// The mount options (sixth field of /proc/self/mountinfo) of the mount at `path`.
std::string MountOptions(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string found;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mp, options;
    fields >> id >> parent >> dev >> root >> mp >> options;
    if (mp == path) found = options;
  }
  return found;
}

// True once no process runs with both `a` and `b` on its command line.
bool NoProcessWith(const std::string& a, const std::string& b) {
  for (int i = 0; i < 1000; ++i) {
    bool any = false;
    DIR* proc = opendir("/proc");
    while (dirent* e = readdir(proc)) {
      if (std::atoi(e->d_name) <= 0 || std::atoi(e->d_name) == getpid()) continue;
      auto cmdline = ReadFile("/proc/" + std::string(e->d_name) + "/cmdline");
      if (cmdline && cmdline->find(a) != std::string::npos &&
          cmdline->find(b) != std::string::npos) {
        any = true;
      }
    }
    closedir(proc);
    if (!any) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Moves this process into a mount namespace of its own, once; false if it cannot.
bool InPrivateNamespace() {
  static const bool done = [] {
    if (unshare(CLONE_NEWNS) != 0) return false;
    // Nothing mounted from here on propagates back to the host.
    return mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) == 0;
  }();
  return done;
}

constexpr const char* kShellPathDir = "/usr/local/sbin";

class FstabMountTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = false}; }
  void SetUp() override {
    MountFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(access("/sbin/mount.fuse3", X_OK), 0) << "mount.fuse3 (Debian package fuse3)";
    ASSERT_TRUE(InPrivateNamespace()) << "unshare: " << ErrnoName(errno);
    ASSERT_EQ(mkdir(T("bin").c_str(), 0755), 0);
    ASSERT_EQ(symlink(ModelvaultBinary().c_str(), T("bin/modelvault").c_str()), 0);
    ASSERT_EQ(mount(T("bin").c_str(), kShellPathDir, nullptr, MS_BIND, nullptr), 0)
        << ErrnoName(errno);
    bound_ = true;
    // The file names another mountpoint: the one fstab names wins.
    ASSERT_EQ(mkdir(T("elsewhere").c_str(), 0755), 0);
    config_ = T("models.yaml");
    ASSERT_EQ(WriteFile(config_, "backing: " + backing() + "\nmountpoint: " + T("elsewhere") +
                                     "\nunlock:\n  keyfile: " + keyfile() + "\n"),
              0);
  }
  void TearDown() override {
    for (const std::string& mp : {mountpoint(), T("elsewhere")}) {
      if (!mp.empty() && IsMountPoint(mp)) (void)RunCommand({"umount", "-l", mp});
    }
    MountFixture::TearDown();
    if (bound_) umount2(kShellPathDir, MNT_DETACH);
  }
  // umount(8), then waits for the daemon to finish writing and exit.
  ::testing::AssertionResult SystemUmount() {
    CliResult r = RunCommand({"umount", mountpoint()});
    if (!r.ok()) return ::testing::AssertionFailure() << "umount: " << r.Describe();
    if (IsMountPoint(mountpoint())) return ::testing::AssertionFailure() << "still mounted";
    if (!NoProcessWith(backing(), mountpoint())) {
      return ::testing::AssertionFailure() << "the daemon did not exit";
    }
    return ::testing::AssertionSuccess();
  }

  std::string config_;
  bool bound_ = false;
};

TEST_F(FstabMountTest, AnFstabLineMountsWithMountAndUnmountsWithUmount) {
  const std::string fstab = T("fstab");
  ASSERT_EQ(WriteFile(fstab, backing() + " " + mountpoint() + " fuse.modelvault config=" + config_ +
                                 ",nofail,x-systemd.after=tpm2.target 0 0\n"),
            0);
  CliResult r = RunCommand({"mount", "-T", fstab, mountpoint()});
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(MountType(mountpoint()), "fuse.modelvault");
  EXPECT_FALSE(IsMountPoint(T("elsewhere")));
  // mount.fuse3 asks for dev,suid unless told nodev,nosuid; a model store needs neither.
  const std::string options = MountOptions(mountpoint());
  EXPECT_NE(options.find("nosuid"), std::string::npos) << options;
  EXPECT_NE(options.find("nodev"), std::string::npos) << options;
  EXPECT_EQ(options.substr(0, 3), "rw,") << options;
  ASSERT_EQ(WriteFile(M("model.bin"), PatternBytes(5, 70000)), 0);
  EXPECT_EQ(ReadFile(M("model.bin")).value_or(""), PatternBytes(5, 70000));
  ASSERT_TRUE(SystemUmount());

  // Mounted again, the file is there.
  r = RunCommand({"mount", "-T", fstab, mountpoint()});
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(ReadFile(M("model.bin")).value_or(""), PatternBytes(5, 70000));
  ASSERT_TRUE(SystemUmount());
}

TEST_F(FstabMountTest, MountDashTWithRoMountsReadOnly) {
  ASSERT_TRUE(Mount());
  ASSERT_EQ(WriteFile(M("config.json"), "{}"), 0);
  ASSERT_TRUE(Unmount());
  CliResult r = RunCommand({"mount", "-t", "fuse.modelvault", backing(), mountpoint(), "-o",
                            "config=" + config_ + ",ro"});
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(MountOptions(mountpoint()).substr(0, 3), "ro,");
  EXPECT_EQ(ReadFile(M("config.json")).value_or(""), "{}");
  EXPECT_EQ(WriteFile(M("new.txt"), "x"), EROFS);
  ASSERT_TRUE(SystemUmount());
}

TEST_F(FstabMountTest, TheFileDecidesReadOnlyUnlessRoIsGiven) {
  // mount(8) passes rw whenever ro is absent: it must not undo the file's read_only.
  ASSERT_EQ(WriteFile(config_, ReadFile(config_).value_or("") + "read_only: true\n"), 0);
  CliResult r = RunCommand(
      {"mount", "-t", "fuse.modelvault", backing(), mountpoint(), "-o", "config=" + config_});
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(MountOptions(mountpoint()).substr(0, 3), "ro,") << "the file said read_only";
  ASSERT_TRUE(SystemUmount());
  // The mount command itself can override it.
  r = RunCli({"mount", "--config", config_, backing(), mountpoint(), "--read-write"});
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(MountOptions(mountpoint()).substr(0, 3), "rw,");
  ASSERT_TRUE(Unmount());
}

TEST_F(FstabMountTest, TheLinesOptionsAddToTheFilesOptions) {
  ASSERT_EQ(WriteFile(config_, ReadFile(config_).value_or("") + "fuse_options: [noatime]\n"), 0);
  CliResult r = RunCommand({"mount", "-t", "fuse.modelvault", backing(), mountpoint(), "-o",
                            "config=" + config_ + ",noexec"});
  ASSERT_TRUE(r.ok()) << r.Describe();
  const std::string options = MountOptions(mountpoint());
  EXPECT_NE(options.find("noexec"), std::string::npos) << options;
  EXPECT_NE(options.find("noatime"), std::string::npos)
      << "the file's option was dropped: " << options;
  ASSERT_TRUE(SystemUmount());
}

TEST_F(FstabMountTest, AnUnknownOptionIsRefusedByName) {
  CliResult r = RunCommand({"mount", "-t", "fuse.modelvault", backing(), mountpoint(), "-o",
                            "config=" + config_ + ",frobnicate"});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.err.find("unknown mount option 'frobnicate'"), std::string::npos) << r.Describe();
  EXPECT_FALSE(IsMountPoint(mountpoint()));
}

TEST_F(FstabMountTest, AFailedUnlockFailsTheMountCommand) {
  ASSERT_TRUE(Keygen(T("other.key")).ok());
  ASSERT_EQ(WriteFile(config_, "unlock:\n  keyfile: " + T("other.key") + "\n"), 0);
  CliResult r = RunCommand(
      {"mount", "-t", "fuse.modelvault", backing(), mountpoint(), "-o", "config=" + config_});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.err.find("modelvault: error: "), std::string::npos) << r.Describe();
  EXPECT_FALSE(IsMountPoint(mountpoint()));
}

}  // namespace
}  // namespace modelvault::fs::test
