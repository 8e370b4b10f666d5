// Growing a file past the largest file the backing filesystem takes: EFBIG at once and
// the file unchanged, as on a local filesystem, rather than encrypted zeros written until
// the limit or the disk runs out.
//
// The daemon is started with RLIMIT_FSIZE at 1 GiB, which it inherits from the test. That
// limit is one the daemon must honour, and it bounds what a daemon without the check would
// write before failing.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

constexpr uint64_t kDaemonLimit = 1ULL << 30;
// Past what any backing filesystem of ext4's kind takes (16 TiB with 4 KiB blocks).
constexpr off_t kHuge = 999999999999999;

class PosixSizeLimitTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 0, .mount = false}; }

  void SetUp() override {
    MountFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    struct rlimit old {};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
    struct rlimit capped = {kDaemonLimit, old.rlim_max};
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &capped), 0);
    ::testing::AssertionResult mounted = Mount();
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
    ASSERT_TRUE(mounted);
  }
};

TEST_F(PosixSizeLimitTest, TruncatePastTheLimitIsEfbig) {
  ASSERT_EQ(WriteFile(M("f"), "data"), 0);
  MV_EXPECT_ERRNO(::truncate(M("f").c_str(), kHuge), EFBIG);
  MV_EXPECT_ERRNO(::truncate(M("f").c_str(), 2 * kDaemonLimit), EFBIG);
  {
    Fd fd(::open(M("f").c_str(), O_RDWR));
    MV_ASSERT_SYS(fd.get());
    MV_EXPECT_ERRNO(::ftruncate(fd.get(), kHuge), EFBIG);
    MV_EXPECT_ERRNO(::fallocate(fd.get(), 0, 0, 2 * kDaemonLimit), EFBIG);
  }
  EXPECT_EQ(Lstat(M("f"))->st_size, 4);
  EXPECT_TRUE(FileHolds(M("f"), "data"));
  // Below the limit a file still grows.
  MV_EXPECT_SYS(::truncate(M("f").c_str(), 1 << 20));
  EXPECT_EQ(Lstat(M("f"))->st_size, 1 << 20);
}

TEST_F(PosixSizeLimitTest, NewFileTruncatedPastTheLimitStaysEmpty) {
  Fd fd(::open(M("g").c_str(), O_CREAT | O_RDWR, 0644));
  MV_ASSERT_SYS(fd.get());
  MV_EXPECT_ERRNO(::ftruncate(fd.get(), kHuge), EFBIG);
  struct stat st {};
  MV_ASSERT_SYS(::fstat(fd.get(), &st));
  EXPECT_EQ(st.st_size, 0);
  MV_EXPECT_SYS(::ftruncate(fd.get(), 4096));
}

}  // namespace
}  // namespace modelvault::fs::test
