// The mount daemon as an attacker on the host would meet it: memory locked, no core files,
// and no secret in anything it logs, even at debug level and while it reports errors.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

#if defined(__SANITIZE_ADDRESS__)
#define MV_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MV_UNDER_ASAN 1
#endif
#endif
#ifndef MV_UNDER_ASAN
#define MV_UNDER_ASAN 0
#endif

namespace modelvault::fs::test {
namespace {

// The value of `field` ("VmLck:") in /proc/PID/status, in kB, or -1.
long StatusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + field.size());
  }
  return -1;
}

std::string LimitLine(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) == 0) return line;
  }
  return "";
}

std::string Hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

class DaemonHardeningTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = false}; }
};

TEST_F(DaemonHardeningTest, TheDaemonLocksItsMemoryAndWritesNoCoreFiles) {
  ASSERT_TRUE(Mount());
  pid_t daemon = DaemonPid(mountpoint());
  ASSERT_GT(daemon, 0);
  const long locked = StatusKb(daemon, "VmLck:");
  if (MV_UNDER_ASAN) {
    // AddressSanitizer reserves terabytes of shadow memory, which no process may lock.
    std::printf("[ INFO     ] memory locking not checked under AddressSanitizer (%ld kB)\n",
                locked);
  } else {
    EXPECT_GT(locked, 0) << "mlockall did not take effect";
  }
  std::istringstream core(LimitLine(daemon, "Max core file size"));
  std::string w1, w2, w3, soft, hard;
  core >> w1 >> w2 >> w3 >> w1 >> soft >> hard;
  EXPECT_EQ(soft, "0");
  EXPECT_EQ(hard, "0");
}

TEST_F(DaemonHardeningTest, NoSecretReachesTheLogEvenAtDebugLevelAndOnErrors) {
  const std::string passphrase = "unmistakable passphrase 4711";
  std::ofstream(T("pass")) << passphrase << "\n";
  ASSERT_TRUE(RunCli({"keyslot", "add", backing(), "--keyfile", keyfile(), "--new-passphrase-file",
                      T("pass")})
                  .ok());
  std::ofstream(T("debug.yaml")) << "log_level: debug\n";
  // The daemon in the foreground, its log (stderr) captured in a file.
  const std::string log_path = T("daemon.log");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, STDERR_FILENO);
    dup2(fd, STDOUT_FILENO);
    std::string bin = ModelvaultBinary();
    execl(bin.c_str(), bin.c_str(), "mount", backing().c_str(), mountpoint().c_str(),
          "--foreground", "--passphrase-file", T("pass").c_str(), "--config",
          T("debug.yaml").c_str(), nullptr);
    _exit(127);
  }
  for (int i = 0; i < 500 && !IsMountPoint(mountpoint()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(IsMountPoint(mountpoint()));
  ASSERT_EQ(WriteFile(M("model.bin"), PatternBytes(3, 20000)), 0);
  ::sync();
  // Make the daemon report an error: a ciphertext block changed under it.
  std::string name;
  for (const auto& entry : ListDir(backing())) {
    if (entry.size() > 20) name = entry;
  }
  ASSERT_FALSE(name.empty());
  {
    int fd = open(B(name).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    char byte = 0x5a;
    ASSERT_EQ(pwrite(fd, &byte, 1, 100), 1);
    close(fd);
  }
  {
    // Past the page cache, so that the daemon reads the changed block and reports it.
    int fd = open(M("model.bin").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    char buf[4096];
    EXPECT_LT(pread(fd, buf, sizeof(buf), 0), 0);
    EXPECT_EQ(errno, EIO);
    close(fd);
  }
  ASSERT_TRUE(RunCli({"umount", mountpoint()}).ok());
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);

  auto log = ReadFile(log_path);
  ASSERT_TRUE(log.has_value());
  EXPECT_FALSE(log->empty()) << "the daemon logged nothing at debug level";
  auto key = ReadFile(keyfile());
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(log->find(passphrase), std::string::npos);
  EXPECT_EQ(log->find(Hex(*key)), std::string::npos);
  EXPECT_EQ(log->find(Hex(*key).substr(0, 16)), std::string::npos);
  EXPECT_EQ(log->find(key->substr(0, 8)), std::string::npos);
}

}  // namespace
}  // namespace modelvault::fs::test
