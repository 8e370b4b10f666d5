// A standard stress load on a mounted store: stress-ng's file-system stressors all at once,
// each checking its own data (--verify), then a syncfs(2) of the mount and a remount. They
// reach what the hand-written tests do not: many processes mixing creates, renames, links,
// record locks, leases, xattrs, mmap, direct and asynchronous I/O on the same files, and
// processes killed halfway through.
//
// Left out: the notification stressors (inotify, fanotify, dnotify time their events and
// fail on a busy machine whatever the file system), ioctls FUSE does not pass on (chattr,
// inode-flags, fiemap, verity), fpunch (a writer killed inside the kernel's write-back
// leaves an EINTR for the next syncfs even though the daemon failed no request), io (it
// syncs every mount on the machine and fails on any one's error, so its verdict depends on
// whatever else is mounted; this test syncs the store's own mount instead), and the ones
// that test the kernel rather than a file system (procfs, binderfs, eventfd, ioprio).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/fs/child_process.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

constexpr const char* kStressors[] = {
    "access",  "chmod",     "chown", "copy-file", "dentry", "dir",      "dirmany",
    "dup",     "fallocate", "fcntl", "filename",  "flock",  "fstat",    "getdent",
    "hdd",     "iomix",     "lease", "link",      "lockf",  "lockofd",  "mknod",
    "open",    "rename",    "seek",  "readahead", "aio",    "sendfile", "sync-file",
    "symlink", "touch",     "utime", "xattr",     "msync",  "mmap"};

class StressTest : public MountFixture {};

// Run with MODELVAULT_STRESS=1. Not yet part of the default run: under ctest -j2 the
// remount at the end has found the mount busy for a moment after stress-ng exited.
TEST_F(StressTest, FileSystemStressorsPassAndLeaveTheMountSound) {
  if (std::getenv("MODELVAULT_STRESS") == nullptr) GTEST_SKIP() << "set MODELVAULT_STRESS=1";
  if (access("/usr/bin/stress-ng", X_OK) != 0) {
    if (std::getenv("MODELVAULT_REQUIRE_FUSE") != nullptr) {
      FAIL() << "stress-ng is not installed (scripts/install-deps.sh installs it)";
    }
    GTEST_SKIP() << "stress-ng is not installed";
  }
  MV_ASSERT_SYS(::mkdir(M("stress").c_str(), 0755));
  std::vector<std::string> argv = {"stress-ng",   "--verify",  "--timeout",  "15s",
                                   "--temp-path", M("stress"), "--mmap-file"};
  for (const char* s : kStressors) {
    argv.push_back(std::string("--") + s);
    argv.push_back("1");
  }
  const std::string log = T("stress-ng.log");
  ChildProcess run(argv, {}, log);
  ASSERT_GT(run.pid(), 0);
  // Stressors stop at the timeout, but some finish their current round first.
  std::optional<int> code = run.Wait(std::chrono::minutes(4));
  std::string text = ReadFile(log).value_or("(no log)");
  ASSERT_TRUE(code.has_value()) << "stress-ng still running after 4 minutes\n" << text;
  EXPECT_EQ(*code, 0) << text;
  EXPECT_EQ(text.find("fail:"), std::string::npos) << text;

  // Nothing a stressor did may have left an error for the whole mount to report.
  {
    Fd root(::open(M("").c_str(), O_RDONLY | O_DIRECTORY));
    MV_ASSERT_SYS(root.get());
    // EINTR is the one error the kernel itself records here: stress-ng ends its stressors
    // with SIGKILL, and a writer killed inside the kernel's write-back leaves it (the
    // daemon failed no request). It is reported once; any other error, or a second one,
    // is the file system's.
    int rc = ::syncfs(root.get());
    if (rc != 0 && errno == EINTR) rc = ::syncfs(root.get());
    MV_EXPECT_SYS(rc);
  }
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(ListDir(M("stress")).empty()) << "stress-ng cleans up after itself";
  MV_EXPECT_SYS(::rmdir(M("stress").c_str()));
}

}  // namespace
}  // namespace modelvault::fs::test
