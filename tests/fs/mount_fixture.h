// MountFixture: a GoogleTest fixture that gives each test a fresh store mounted through
// the real `modelvault` binary on a real FUSE mount, and tears it down afterwards.
//
// Per test it creates a private temporary directory holding the host's rollback state
// (MODELVAULT_STATE_FILE points there), a keyfile (`modelvault
// keygen`), a backing directory (`modelvault init`, with the block size the test asks for)
// and a mountpoint, and mounts the store there (`modelvault mount`, as root, no -o
// options). TearDown unmounts every mount the test made with `modelvault umount`; if that
// fails (a crashed daemon, a descriptor left open) it records a failure, detaches the mount
// lazily with `umount -l` and removes the temporary directory only if nothing is mounted
// inside it any more.
//
// Without root or /dev/fuse the test is skipped with the reason, unless the environment
// sets MODELVAULT_REQUIRE_FUSE=1 (CI), in which case it fails. The binary comes from the
// MODELVAULT_BIN compile definition; the environment variable of the same name overrides
// it.
//
// Not thread-safe: call the fixture's methods from the test's main thread only.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace modelvault::fs::test {

// What a command did: its exit status and everything it wrote.
struct CliResult {
  int exit_code = -1;  // -1 if it was killed by a signal or ran past its timeout
  std::string out;
  std::string err;
  bool timed_out = false;

  bool ok() const { return exit_code == 0; }
  // "exit 1, stderr: ..." for failure messages.
  std::string Describe() const;
  // True if stderr is exactly one non-empty line ending in '\n'.
  bool StderrIsOneLine() const;
};

// A failed command: nonzero exit (not a crash or timeout), one line on stderr, mentioning
// `topic` (case-insensitively) if given.
::testing::AssertionResult FailedCleanly(const CliResult& r, std::string topic = "");

// Path of the modelvault binary under test.
std::string ModelvaultBinary();
// Runs `modelvault args...` with stdin from /dev/null. Output is captured through
// anonymous files rather than pipes, so a daemon that keeps them open cannot stall us.
CliResult RunCli(const std::vector<std::string>& args,
                 std::chrono::seconds timeout = std::chrono::seconds(120));
// Runs any program (argv[0] searched in PATH) the same way.
CliResult RunCommand(const std::vector<std::string>& argv,
                     std::chrono::seconds timeout = std::chrono::seconds(120));

// The pid of the daemon serving `mountpoint`, found by its command line; 0 if none.
pid_t DaemonPid(const std::string& mountpoint);

// Empty if this process can mount FUSE filesystems, else why not.
std::string FuseUnavailableReason();
// True if MODELVAULT_REQUIRE_FUSE=1.
bool FuseRequired();
// True if `path` (absolute, canonical) is a mount point, from /proc/self/mountinfo (never
// touches the path itself, so a hung daemon cannot block it).
bool IsMountPoint(const std::string& path);
// The filesystem type of the mount at `path` ("fuse.modelvault", ...), or "".
std::string MountType(const std::string& path);
// A fresh directory under $TMPDIR (or /tmp), canonical path.
std::string MakeTempDir(std::string_view prefix);
// Removes `path` recursively without crossing into other filesystems. Returns false and
// leaves it if anything is still mounted below it.
bool RemoveTree(const std::string& path);

// Snapshot of a directory tree: every entry's relative path, type, mode, size and content
// (or link target) hash and xattrs, with `mtimes` also its modification time, one line
// each, sorted. Equal snapshots mean an unchanged tree.
std::string SnapshotTree(const std::string& root, bool mtimes = false);

class MountFixture : public ::testing::Test {
 protected:
  struct Options {
    uint32_t block_size = 0;  // 0: let `init` choose
    bool mount = true;        // mount in SetUp
  };
  // Tests override this to choose the block size or to skip the mount.
  virtual Options GetOptions() const { return {}; }

  void SetUp() override;
  void TearDown() override;

  const std::string& root() const { return root_; }
  const std::string& keyfile() const { return keyfile_; }
  const std::string& backing() const { return backing_; }
  const std::string& mountpoint() const { return mountpoint_; }
  uint32_t block_size() const { return block_size_; }
  // Paths inside the mount, the backing directory and the temporary directory.
  std::string M(std::string_view rel) const;
  std::string B(std::string_view rel) const;
  std::string T(std::string_view rel) const;

  // `modelvault keygen` / `init`; failures are returned, not recorded.
  CliResult Keygen(const std::string& path);
  CliResult Init(const std::string& backing_dir, const std::string& key, uint32_t block_size);
  // `modelvault mount BACKING MP --keyfile KEY extra...` (no --keyfile if KEY is empty, for
  // extra options that unlock another way); on success remembers MP for
  // TearDown and checks that the kernel lists it as a FUSE mount.
  ::testing::AssertionResult Mount(const std::string& backing_dir, const std::string& mp,
                                   const std::string& key,
                                   const std::vector<std::string>& extra = {});
  ::testing::AssertionResult Mount(const std::vector<std::string>& extra = {}) {
    return Mount(backing_, mountpoint_, keyfile_, extra);
  }
  // `modelvault umount MP`, then checks that MP is no longer a mount point.
  ::testing::AssertionResult Unmount(const std::string& mp);
  ::testing::AssertionResult Unmount() { return Unmount(mountpoint_); }
  // Unmounts and mounts the main mountpoint again (drops every kernel cache of the mount).
  ::testing::AssertionResult Remount(const std::vector<std::string>& extra = {});
  bool mounted(const std::string& mp) const;

 private:
  std::string root_;
  std::string keyfile_;
  std::string backing_;
  std::string mountpoint_;
  uint32_t block_size_ = 0;
  std::vector<std::string> mounts_;  // mountpoints mounted and not yet unmounted
};

// The fixture with the block size as the test parameter.
class BlockSizeTest : public MountFixture, public ::testing::WithParamInterface<uint32_t> {
 protected:
  Options GetOptions() const override { return {.block_size = GetParam(), .mount = true}; }
};

// For INSTANTIATE_TEST_SUITE_P: names the instances "bs4096", "bs65536".
std::string BlockSizeName(const ::testing::TestParamInfo<uint32_t>& info);

}  // namespace modelvault::fs::test
