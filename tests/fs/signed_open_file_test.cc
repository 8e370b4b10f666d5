// A signed file cut short in the backing directory while a trusting reader holds it open.
// Every block still there passes its Merkle check, so only the size can tell: a read that
// meets the new end, and a stat that would hand the kernel the shorter size, fail with EIO
// (and an audit record) instead of ending the file early.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

constexpr size_t kBlock = 4096, kStored = kBlock + 28, kHeader = 32;

class SignedOpenFileTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = false}; }
};

TEST_F(SignedOpenFileTest, AFileCutWhileOpenFailsInsteadOfEndingEarly) {
  ASSERT_TRUE(RunCli({"signing-key", "generate", T("pub.key"), T("pub.pem")}).ok());
  ASSERT_TRUE(Mount());
  ASSERT_EQ(::mkdir(M("m").c_str(), 0755), 0);
  const std::string weights = PatternBytes(3, 8 * kBlock);
  ASSERT_EQ(WriteFile(M("m/weights.bin"), weights), 0);
  ASSERT_TRUE(RunCli({"sign", M("m"), "--signing-key", T("pub.key")}).ok());
  char name[4096];
  ssize_t n = ::getxattr(M("m/weights.bin").c_str(), "user.modelvault.backing", name, sizeof(name));
  ASSERT_GT(n, 0);
  const std::string file = backing() + "/" + std::string(name, static_cast<size_t>(n));
  ASSERT_TRUE(Unmount());

  // A read-only mount keeps attributes for 10 s; one second makes the wait short.
  ASSERT_EQ(WriteFile(T("cache.yaml"), "cache:\n  entry_timeout: 1\n  attr_timeout: 1\n"), 0);
  ASSERT_TRUE(Mount(backing(), mountpoint(), keyfile(),
                    {"--read-only", "--trust", T("pub.pem"), "--audit-log", T("audit"), "--config",
                     T("cache.yaml")}));
  Fd fd(::open(M("m/weights.bin").c_str(), O_RDONLY));
  ASSERT_TRUE(fd.valid()) << ErrnoName(errno);
  int err = 0;
  EXPECT_TRUE(SameBytes(PreadAll(fd.get(), weights.size(), 0, &err), weights));
  ASSERT_EQ(err, 0);

  // Cut after three whole blocks: what is left is exactly what was signed, only less.
  ASSERT_EQ(::truncate(file.c_str(), kHeader + 3 * kStored), 0);
  // Reads past the page cache reach the daemon, as they do once pages are evicted.
  ASSERT_EQ(::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED), 0);
  std::string got = PreadAll(fd.get(), weights.size(), 0, &err);
  EXPECT_EQ(err, EIO) << "read " << got.size() << " of " << weights.size() << " bytes";
  // Once the kernel's cached attributes expire, it asks again; the shorter size is refused.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  struct stat st;
  MV_EXPECT_ERRNO(::fstat(fd.get(), &st), EIO);
  fd.Reset();
  auto audit = ReadFile(T("audit"));
  ASSERT_TRUE(audit.has_value());
  EXPECT_NE(audit->find("truncated or extended"), std::string::npos) << *audit;
  ASSERT_TRUE(Unmount());
}

}  // namespace
}  // namespace modelvault::fs::test
