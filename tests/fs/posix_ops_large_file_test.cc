// A file larger than 4 GiB on a mounted store: offsets, sizes and block indices past 32 bits.
// Writing 1 MiB at 4 GiB + 12345 into an empty file makes the filesystem zero-fill (and so
// encrypt and write) about 4 GiB; the test reports how long that took.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

using PosixLargeFileTest = MountFixture;

constexpr uint64_t kGiB = 1ULL << 30;
constexpr uint64_t kOffset = 4 * kGiB + 12345;
constexpr size_t kDataSize = 1 << 20;

// Reads `len` bytes at `off` of `fd` and compares them with the expected content: zeros
// below kOffset, PatternBytes(1, ...) from kOffset to the end.
::testing::AssertionResult SpotHolds(int fd, uint64_t off, size_t len) {
  std::string expected;
  const uint64_t end = kOffset + kDataSize;
  for (uint64_t pos = off; pos < off + len && pos < end;) {
    if (pos < kOffset) {
      const uint64_t n = std::min<uint64_t>(kOffset, off + len) - pos;
      expected.append(n, '\0');
      pos += n;
    } else {
      const uint64_t n = std::min<uint64_t>(end, off + len) - pos;
      expected += PatternBytes(1, n, pos);
      pos += n;
    }
  }
  int err = 0;
  const std::string got = PreadAll(fd, len, off, &err);
  if (err != 0)
    return ::testing::AssertionFailure() << "pread at " << off << ": " << ErrnoName(err);
  ::testing::AssertionResult same = SameBytes(got, expected);
  if (!same) return ::testing::AssertionFailure() << "at offset " << off << ": " << same.message();
  return same;
}

void CheckFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY));
  MV_ASSERT_SYS(fd.get());
  struct stat st {};
  MV_ASSERT_SYS(::fstat(fd.get(), &st));
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), kOffset + kDataSize);
  EXPECT_TRUE(SpotHolds(fd.get(), kOffset, kDataSize));
  EXPECT_TRUE(SpotHolds(fd.get(), 0, 70000));
  EXPECT_TRUE(SpotHolds(fd.get(), 2 * kGiB - 3, 8192));
  EXPECT_TRUE(SpotHolds(fd.get(), 4 * kGiB - 100, 200));  // across the 32-bit boundary
  EXPECT_TRUE(SpotHolds(fd.get(), kOffset - 10, 100));
  EXPECT_TRUE(SpotHolds(fd.get(), kOffset + kDataSize - 10, 100));  // short read at EOF
}

TEST_F(PosixLargeFileTest, WriteBeyondFourGiB) {
  const std::string path = M("huge");
  {
    Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0644));
    MV_ASSERT_SYS(fd.get());
    const auto start = std::chrono::steady_clock::now();
    ASSERT_EQ(PwriteAll(fd.get(), PatternBytes(1, kDataSize, kOffset), kOffset), 0);
    MV_ASSERT_SYS(::fsync(fd.get()));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("[ INFO     ] 1 MiB pwrite at 4 GiB + 12345 (zero fill) + fsync: %.1f s\n",
                seconds);
    RecordProperty("zero_fill_seconds", std::to_string(seconds));
    EXPECT_LT(seconds, 120.0) << "zero-filling 4 GiB is very slow";
  }
  CheckFile(path);
  ASSERT_TRUE(Remount());
  CheckFile(path);
  MV_EXPECT_SYS(::unlink(path.c_str()));
}

}  // namespace
}  // namespace modelvault::fs::test
