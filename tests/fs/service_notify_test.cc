// The mount daemon under a service manager (a systemd unit of Type=notify), without
// systemd: the test listens on a datagram socket named by NOTIFY_SOCKET, as systemd does,
// and checks that READY=1 comes only once the mount answers, STOPPING=1 when the daemon
// shuts down, and no READY=1 at all when unlocking fails.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/fs/child_process.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The service manager's end of the notification protocol: one datagram per message.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    bound_ = fd_ >= 0 && path.size() < sizeof(addr.sun_path) &&
             bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) close(fd_);
    unlink(path_.c_str());
  }
  bool bound() const { return bound_; }
  const std::string& path() const { return path_; }

  // The next message, or "" if none came within `timeout`.
  std::string Receive(milliseconds timeout) {
    pollfd p = {fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return "";
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

bool Has(const std::string& message, const std::string& line) {
  return ("\n" + message + "\n").find("\n" + line + "\n") != std::string::npos;
}

class ServiceNotifyTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = false}; }
  void TearDown() override {
    // A daemon killed by a failed assertion leaves a dead mount behind.
    if (!mountpoint().empty() && IsMountPoint(mountpoint())) {
      (void)RunCommand({"umount", "-l", mountpoint()});
    }
    MountFixture::TearDown();
  }
  std::vector<std::string> MountArgv(const std::string& key) const {
    return {ModelvaultBinary(), "mount", backing(), mountpoint(), "--foreground", "--keyfile", key};
  }
};

TEST_F(ServiceNotifyTest, ReadyOnlyOnceTheMountAnswersAndStoppingOnSigterm) {
  ASSERT_EQ(WriteFile(T("plain.txt"), "x"), 0);
  NotifySocket manager(T("notify"));
  ASSERT_TRUE(manager.bound()) << ErrnoName(errno);
  ChildProcess daemon(MountArgv(keyfile()), {"NOTIFY_SOCKET=" + manager.path()}, T("daemon.log"));
  ASSERT_GT(daemon.pid(), 0);

  std::vector<std::string> before_ready;
  std::string ready;
  for (auto deadline = std::chrono::steady_clock::now() + seconds(60);
       ready.empty() && std::chrono::steady_clock::now() < deadline;) {
    std::string m = manager.Receive(milliseconds(200));
    if (m.empty()) continue;
    if (Has(m, "READY=1")) {
      ready = m;
      // At this moment, not later: the mount must already be there and answer.
      EXPECT_EQ(MountType(mountpoint()), "fuse.modelvault");
      EXPECT_EQ(WriteFile(M("model.bin"), "weights"), 0);
      EXPECT_EQ(ReadFile(M("model.bin")).value_or(""), "weights");
    } else {
      before_ready.push_back(m);
    }
  }
  ASSERT_FALSE(ready.empty()) << "no READY=1; daemon log: "
                              << ReadFile(T("daemon.log")).value_or("");
  ASSERT_FALSE(before_ready.empty());
  EXPECT_EQ(before_ready.front(), "STATUS=Unlocking " + backing());
  EXPECT_NE(ready.find("STATUS=Serving " + backing() + " at " + mountpoint() + " (keyslot "),
            std::string::npos)
      << ready;

  daemon.Signal(SIGTERM);
  std::string stopping;
  for (int i = 0; i < 100 && stopping.empty(); ++i) {
    std::string m = manager.Receive(milliseconds(200));
    if (Has(m, "STOPPING=1")) stopping = m;
  }
  EXPECT_FALSE(stopping.empty()) << "no STOPPING=1 after SIGTERM";
  EXPECT_EQ(daemon.Wait(seconds(60)), 0) << ReadFile(T("daemon.log")).value_or("");
  EXPECT_FALSE(IsMountPoint(mountpoint())) << "SIGTERM left the mount behind";
}

TEST_F(ServiceNotifyTest, SigtermWithFilesStillOpenFreesTheirHandlesAndExitsCleanly) {
  // The kernel's release requests for these never come: the daemon must free the handles
  // itself (under the sanitizers a handle left over fails the exit status as a leak).
  ChildProcess daemon(MountArgv(keyfile()), {}, T("daemon.log"));
  ASSERT_GT(daemon.pid(), 0);
  for (int i = 0; i < 3000 && !IsMountPoint(mountpoint()); ++i) usleep(10000);
  ASSERT_TRUE(IsMountPoint(mountpoint())) << ReadFile(T("daemon.log")).value_or("");
  int file = ::open(M("held.bin").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(file, 0) << ErrnoName(errno);
  ASSERT_EQ(::write(file, "weights", 7), 7);
  int dir = ::open(mountpoint().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir, 0) << ErrnoName(errno);
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(seconds(60)), 0) << ReadFile(T("daemon.log")).value_or("");
  ::close(file);
  ::close(dir);
  EXPECT_FALSE(IsMountPoint(mountpoint()));
}

TEST_F(ServiceNotifyTest, ARestartAfterACrashReplacesTheDeadMount) {
  // What Restart=on-failure meets after the daemon was killed: a mount nobody serves.
  {
    ChildProcess crashed(MountArgv(keyfile()), {}, T("crashed.log"));
    for (int i = 0; i < 3000 && !IsMountPoint(mountpoint()); ++i) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    ASSERT_TRUE(IsMountPoint(mountpoint())) << ReadFile(T("crashed.log")).value_or("");
    ASSERT_EQ(WriteFile(M("model.bin"), "weights"), 0);
    crashed.Signal(SIGKILL);
    crashed.Wait(seconds(10));
  }
  int err = 0;
  EXPECT_FALSE(Lstat(M(""), &err).has_value());
  ASSERT_EQ(err, ENOTCONN) << "expected a dead mount";

  NotifySocket manager(T("notify"));
  ASSERT_TRUE(manager.bound()) << ErrnoName(errno);
  ChildProcess daemon(MountArgv(keyfile()), {"NOTIFY_SOCKET=" + manager.path()}, T("daemon.log"));
  std::string m;
  for (int i = 0; i < 300 && !Has(m, "READY=1") && daemon.running(); ++i) {
    m = manager.Receive(milliseconds(200));
    (void)daemon.Wait(milliseconds(0));
  }
  ASSERT_TRUE(Has(m, "READY=1")) << ReadFile(T("daemon.log")).value_or("");
  EXPECT_EQ(ReadFile(M("model.bin")).value_or(""), "weights");
  EXPECT_NE(ReadFile(T("daemon.log")).value_or("").find("replacing the dead mount"),
            std::string::npos);
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(seconds(60)), 0);
  EXPECT_FALSE(IsMountPoint(mountpoint())) << "a mount is left behind";
}

TEST_F(ServiceNotifyTest, AFailedUnlockExitsNonzeroWithTheErrorAndNeverSaysReady) {
  ASSERT_TRUE(Keygen(T("other.key")).ok());
  NotifySocket manager(T("notify"));
  ASSERT_TRUE(manager.bound()) << ErrnoName(errno);
  ChildProcess daemon(MountArgv(T("other.key")), {"NOTIFY_SOCKET=" + manager.path()},
                      T("daemon.log"));
  ASSERT_GT(daemon.pid(), 0);
  std::optional<int> code = daemon.Wait(seconds(60));
  ASSERT_TRUE(code.has_value()) << "the daemon kept running with a wrong key";
  EXPECT_NE(*code, 0);
  EXPECT_NE(ReadFile(T("daemon.log")).value_or("").find("modelvault: error: "), std::string::npos);
  for (std::string m; !(m = manager.Receive(milliseconds(100))).empty();) {
    EXPECT_FALSE(Has(m, "READY=1")) << m;
  }
  EXPECT_FALSE(IsMountPoint(mountpoint()));
}

TEST_F(ServiceNotifyTest, ABackgroundMountLeavesTheServiceManagerAlone) {
  // A detaching mount is not the process a Type=notify unit watches.
  NotifySocket manager(T("notify"));
  ASSERT_TRUE(manager.bound()) << ErrnoName(errno);
  ::setenv("NOTIFY_SOCKET", manager.path().c_str(), 1);
  ::testing::AssertionResult mounted = Mount();
  ::unsetenv("NOTIFY_SOCKET");
  ASSERT_TRUE(mounted);
  EXPECT_EQ(manager.Receive(milliseconds(500)), "");
  ASSERT_TRUE(Unmount());
}

}  // namespace
}  // namespace modelvault::fs::test
