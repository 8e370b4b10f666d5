// --mount-namespace, as the systemd unit uses it: a daemon sandboxed in a mount namespace
// of its own (here `unshare --mount --propagation slave`, like systemd's ProtectSystem=)
// makes its kernel mount in the namespace it is given (here the test's), where it must be
// visible and work, and removes it from there when stopped.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/fs/child_process.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

using std::chrono::seconds;

// The capabilities systemd/modelvault@.service leaves the daemon, as setpriv(1) takes them:
// "-all,+sys_admin,+ipc_lock,...". Empty if the unit names none.
std::string UnitBoundingSet() {
  std::ifstream unit(std::string(MODELVAULT_SOURCE_DIR) + "/systemd/modelvault@.service");
  std::string set;
  for (std::string line; std::getline(unit, line);) {
    const std::string key = "CapabilityBoundingSet=";
    if (line.rfind(key, 0) != 0) continue;
    std::istringstream caps(line.substr(key.size()));
    for (std::string cap; caps >> cap;) {
      std::transform(cap.begin(), cap.end(), cap.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      set += ",+" + cap.substr(cap.rfind("cap_", 0) == 0 ? 4 : 0);
    }
  }
  return set.empty() ? "" : "-all" + set;
}

class MountNamespaceTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = false}; }
  void SetUp() override {
    MountFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (!RunCommand({"unshare", "--mount", "--propagation", "slave", "true"}).ok()) {
      GTEST_SKIP() << "unshare --mount does not work here";
    }
  }
  void TearDown() override {
    if (!mountpoint().empty() && IsMountPoint(mountpoint())) {
      (void)RunCommand({"umount", "-l", mountpoint()});
    }
    MountFixture::TearDown();
  }
  // The daemon, in the foreground, in a private mount namespace.
  std::vector<std::string> SandboxedMount(const std::vector<std::string>& extra) const {
    std::vector<std::string> argv = {"unshare",    "--mount",          "--propagation", "slave",
                                     "--",         ModelvaultBinary(), "mount",         backing(),
                                     mountpoint(), "--foreground",     "--keyfile",     keyfile()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  static std::string OurNamespace() { return "/proc/" + std::to_string(getpid()) + "/ns/mnt"; }
  // Waits for the mount to appear here (from /proc/self/mountinfo).
  bool AppearsHere(ChildProcess& daemon) {
    for (int i = 0; i < 3000 && daemon.running(); ++i) {
      if (IsMountPoint(mountpoint())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      (void)daemon.Wait(std::chrono::milliseconds(0));
    }
    return IsMountPoint(mountpoint());
  }
  std::string Log() { return ReadFile(T("daemon.log")).value_or(""); }
};

TEST_F(MountNamespaceTest, WithoutTheOptionASandboxedMountIsInvisibleHere) {
  // Why the option exists: the same daemon without it mounts where no one else looks.
  ChildProcess daemon(SandboxedMount({}), {}, T("daemon.log"));
  ASSERT_GT(daemon.pid(), 0);
  std::this_thread::sleep_for(seconds(3));
  ASSERT_TRUE(daemon.running()) << Log();
  EXPECT_FALSE(IsMountPoint(mountpoint()));
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(seconds(60)), 0) << Log();
}

TEST_F(MountNamespaceTest, TheMountIsMadeHereServesAndSigtermRemovesIt) {
  ChildProcess daemon(SandboxedMount({"--mount-namespace", OurNamespace()}), {}, T("daemon.log"));
  ASSERT_GT(daemon.pid(), 0);
  ASSERT_TRUE(AppearsHere(daemon)) << Log();
  EXPECT_EQ(MountType(mountpoint()), "fuse.modelvault");
  ASSERT_EQ(WriteFile(M("model.bin"), PatternBytes(7, 300000)), 0);
  EXPECT_EQ(ReadFile(M("model.bin")).value_or(""), PatternBytes(7, 300000));

  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(seconds(60)), 0) << Log();
  EXPECT_FALSE(IsMountPoint(mountpoint())) << "SIGTERM left the mount behind";
  EXPECT_EQ(Log(), "");
}

TEST_F(MountNamespaceTest, UmountFromHereEndsTheDaemonCleanly) {
  ChildProcess daemon(SandboxedMount({"--mount-namespace", OurNamespace()}), {}, T("daemon.log"));
  ASSERT_GT(daemon.pid(), 0);
  ASSERT_TRUE(AppearsHere(daemon)) << Log();
  ASSERT_EQ(WriteFile(M("a.txt"), "kept"), 0);
  CliResult umount = RunCli({"umount", mountpoint()});
  EXPECT_TRUE(umount.ok()) << umount.Describe();
  EXPECT_EQ(daemon.Wait(seconds(60)), 0) << Log();
  EXPECT_FALSE(IsMountPoint(mountpoint()));
  // Written through to the store: it is there at the next mount.
  ASSERT_TRUE(Mount({"--read-only"}));
  EXPECT_EQ(ReadFile(M("a.txt")).value_or(""), "kept");
  ASSERT_TRUE(Unmount());
}

TEST_F(MountNamespaceTest, TheUnitsCapabilitiesAreEnoughAndSysPtraceIsNeeded) {
  const std::string caps = UnitBoundingSet();
  ASSERT_NE(caps.find("+sys_admin"), std::string::npos) << caps;
  ASSERT_NE(caps.find(",+sys_ptrace"), std::string::npos) << caps;
  if (!RunCommand({"setpriv", "--bounding-set", caps, "true"}).ok()) {
    GTEST_SKIP() << "setpriv cannot limit capabilities here";
  }
  // As systemd starts it: only the unit's capabilities, no new privileges. This process
  // holds more capabilities than the daemon, as PID 1 does.
  std::vector<std::string> argv = SandboxedMount({"--mount-namespace", OurNamespace()});
  argv.insert(argv.begin() + 5, {"setpriv", "--bounding-set", caps, "--no-new-privs"});
  ChildProcess daemon(argv, {}, T("daemon.log"));
  ASSERT_TRUE(AppearsHere(daemon)) << Log();
  ASSERT_EQ(WriteFile(M("model.bin"), "weights"), 0);
  EXPECT_EQ(ReadFile(M("model.bin")).value_or(""), "weights");
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(seconds(60)), 0) << Log();
  EXPECT_FALSE(IsMountPoint(mountpoint()));

  // Without CAP_SYS_PTRACE the namespace of a more privileged process cannot be opened.
  std::string without = caps;
  without.erase(without.find(",+sys_ptrace"), std::string(",+sys_ptrace").size());
  argv = SandboxedMount({"--mount-namespace", OurNamespace()});
  argv.insert(argv.begin() + 5, {"setpriv", "--bounding-set", without, "--no-new-privs"});
  ChildProcess refused(argv, {}, T("refused.log"));
  EXPECT_EQ(refused.Wait(seconds(60)), 1);
  EXPECT_NE(ReadFile(T("refused.log")).value_or("").find("Permission denied"), std::string::npos);
}

TEST_F(MountNamespaceTest, AFileThatIsNoMountNamespaceIsRefused) {
  CliResult r = RunCli(
      {"mount", backing(), mountpoint(), "--keyfile", keyfile(), "--mount-namespace", keyfile()});
  EXPECT_TRUE(FailedCleanly(r, "not a namespace file")) << r.Describe();
  r = RunCli({"mount", backing(), mountpoint(), "--keyfile", keyfile(), "--mount-namespace",
              "/proc/self/ns/net"});
  EXPECT_TRUE(FailedCleanly(r, "not a mount namespace")) << r.Describe();
  r = RunCli({"mount", backing(), mountpoint(), "--keyfile", keyfile(), "--mount-namespace",
              T("missing")});
  EXPECT_TRUE(FailedCleanly(r, "missing")) << r.Describe();
  EXPECT_FALSE(IsMountPoint(mountpoint()));
}

}  // namespace
}  // namespace modelvault::fs::test
