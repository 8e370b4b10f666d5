// Less common I/O paths through a mounted store, each of which a filesystem that passes
// calls straight to its backing files would get wrong (ciphertext offsets, ciphertext bytes):
// concurrent writers inside one block, copy_file_range, sendfile, SEEK_DATA/SEEK_HOLE,
// O_DIRECT, fallocate's hole-punching modes; and mmap writes flushed only by unmounting.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

class PosixIoExtraTest : public BlockSizeTest {};

TEST_P(PosixIoExtraTest, ConcurrentWritersSharingBlocksLoseNothing) {
  // Four threads write interleaved 1000-byte stripes, so every block has several writers;
  // a read-modify-write without the per-inode lock would drop some stripes.
  constexpr int kThreads = 4, kStripes = 100, kRounds = 3;
  constexpr size_t kStripe = 1000;
  const std::string path = M("shared");
  ASSERT_EQ(WriteFile(path, ""), 0);
  std::string expected(kThreads * kStripes * kStripe, '\0');
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::thread> threads;
    std::vector<int> errors(kThreads, 0);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Fd fd(::open(path.c_str(), O_WRONLY));
        if (!fd.valid()) {
          errors[t] = errno;
          return;
        }
        for (int k = 0; k < kStripes && errors[t] == 0; ++k) {
          const uint64_t off = (static_cast<uint64_t>(k) * kThreads + t) * kStripe;
          errors[t] = PwriteAll(fd.get(), PatternBytes(round * 1000 + t, kStripe, off), off);
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    for (int t = 0; t < kThreads; ++t) ASSERT_EQ(errors[t], 0) << ErrnoName(errors[t]);
    for (int k = 0; k < kStripes; ++k) {
      for (int t = 0; t < kThreads; ++t) {
        const uint64_t off = (static_cast<uint64_t>(k) * kThreads + t) * kStripe;
        expected.replace(off, kStripe, PatternBytes(round * 1000 + t, kStripe, off));
      }
    }
    ASSERT_TRUE(FileHolds(path, expected)) << "round " << round;
  }
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(path, expected));
}

TEST_P(PosixIoExtraTest, CopyFileRangeCopiesPlaintext) {
  const uint64_t bs = block_size();
  const std::string src = PatternBytes(1, 3 * bs + 100);
  ASSERT_EQ(WriteFile(M("src"), src), 0);
  Fd in(::open(M("src").c_str(), O_RDONLY));
  Fd out(::open(M("dst").c_str(), O_WRONLY | O_CREAT, 0644));
  MV_ASSERT_SYS(in.get());
  MV_ASSERT_SYS(out.get());
  loff_t off_in = 100, off_out = 50;
  size_t left = 2 * bs;
  while (left > 0) {
    const ssize_t n = ::copy_file_range(in.get(), &off_in, out.get(), &off_out, left, 0);
    ASSERT_GT(n, 0) << "copy_file_range: " << (n < 0 ? ErrnoName(errno) : "no progress");
    left -= static_cast<size_t>(n);
  }
  MV_ASSERT_SYS(out.Reset());
  MV_ASSERT_SYS(in.Reset());
  const std::string expected = std::string(50, '\0') + src.substr(100, 2 * bs);
  EXPECT_TRUE(FileHolds(M("dst"), expected));
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M("dst"), expected));
}

TEST_P(PosixIoExtraTest, SendfileFromTheMount) {
  const std::string src = PatternBytes(2, 2 * block_size() + 777);
  ASSERT_EQ(WriteFile(M("src"), src), 0);
  ASSERT_TRUE(Remount());
  Fd in(::open(M("src").c_str(), O_RDONLY));
  Fd out(::open(T("copy").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
  MV_ASSERT_SYS(in.get());
  MV_ASSERT_SYS(out.get());
  off_t off = 0;
  while (off < static_cast<off_t>(src.size())) {
    const ssize_t n = ::sendfile(out.get(), in.get(), &off, src.size());
    ASSERT_GT(n, 0) << "sendfile: " << (n < 0 ? ErrnoName(errno) : "no progress");
  }
  MV_ASSERT_SYS(out.Reset());
  EXPECT_TRUE(FileHolds(T("copy"), src));
}

TEST_P(PosixIoExtraTest, SeekDataAndHoleUsePlaintextOffsets) {
  const off_t size = static_cast<off_t>(2 * block_size() + 10);
  ASSERT_EQ(WriteFile(M("f"), PatternBytes(3, static_cast<size_t>(size))), 0);
  Fd fd(::open(M("f").c_str(), O_RDONLY));
  MV_ASSERT_SYS(fd.get());
  EXPECT_EQ(::lseek(fd.get(), 0, SEEK_DATA), 0) << ErrnoName(errno);
  EXPECT_EQ(::lseek(fd.get(), 0, SEEK_HOLE), size) << ErrnoName(errno);
  EXPECT_EQ(::lseek(fd.get(), 5, SEEK_DATA), 5) << ErrnoName(errno);
  MV_EXPECT_ERRNO(::lseek(fd.get(), size, SEEK_DATA), ENXIO);
  MV_EXPECT_ERRNO(::lseek(fd.get(), size + 5, SEEK_HOLE), ENXIO);
  EXPECT_EQ(::lseek(fd.get(), 0, SEEK_END), size);
}

TEST_P(PosixIoExtraTest, ODirectReadAndWrite) {
  const size_t bs = block_size();
  const std::string data = PatternBytes(4, 2 * bs);
  void* raw = nullptr;
  ASSERT_EQ(::posix_memalign(&raw, 4096, 2 * bs), 0);
  std::unique_ptr<char, decltype(&std::free)> buf(static_cast<char*>(raw), &std::free);
  std::memcpy(buf.get(), data.data(), data.size());
  {
    Fd fd(::open(M("direct").c_str(), O_RDWR | O_CREAT | O_DIRECT, 0644));
    ASSERT_TRUE(fd.valid()) << "open O_DIRECT: " << ErrnoName(errno);
    ASSERT_EQ(::pwrite(fd.get(), buf.get(), 2 * bs, 0), static_cast<ssize_t>(2 * bs))
        << ErrnoName(errno);
    std::memset(buf.get(), 0, 2 * bs);
    ASSERT_EQ(::pread(fd.get(), buf.get(), bs, static_cast<off_t>(bs)), static_cast<ssize_t>(bs))
        << ErrnoName(errno);
    EXPECT_TRUE(SameBytes(std::string_view(buf.get(), bs), std::string_view(data).substr(bs)));
  }
  EXPECT_TRUE(FileHolds(M("direct"), data));
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M("direct"), data));
}

TEST_P(PosixIoExtraTest, FallocatePunchAndZeroRangeZeroOrRefuse) {
  const uint64_t bs = block_size();
  std::string model = PatternBytes(5, 4 * bs);
  ASSERT_EQ(WriteFile(M("f"), model), 0);
  Fd fd(::open(M("f").c_str(), O_RDWR));
  MV_ASSERT_SYS(fd.get());
  const struct {
    int mode;
    const char* name;
  } kModes[] = {{FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, "PUNCH_HOLE"},
                {FALLOC_FL_ZERO_RANGE, "ZERO_RANGE"}};
  uint64_t off = bs / 2;
  for (const auto& m : kModes) {
    errno = 0;
    const int rc = ::fallocate(fd.get(), m.mode, static_cast<off_t>(off), static_cast<off_t>(bs));
    if (rc == 0) {
      model.replace(off, bs, bs, '\0');
    } else {
      EXPECT_EQ(errno, EOPNOTSUPP) << m.name << ": " << ErrnoName(errno);
    }
    int err = 0;
    EXPECT_TRUE(SameBytes(PreadAll(fd.get(), 5 * bs, 0, &err), model)) << "after " << m.name;
    EXPECT_EQ(err, 0) << m.name << ": " << ErrnoName(err);
    off += 2 * bs;
  }
  MV_ASSERT_SYS(fd.Reset());
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M("f"), model));
}

TEST_P(PosixIoExtraTest, MmapWriteWithoutMsyncSurvivesUmount) {
  // No msync: closing the file and unmounting must still write the dirty pages out.
  const size_t bs = block_size();
  std::string model = PatternBytes(6, 3 * bs + 5);
  ASSERT_EQ(WriteFile(M("f"), model), 0);
  {
    Fd fd(::open(M("f").c_str(), O_RDWR));
    MV_ASSERT_SYS(fd.get());
    void* map = ::mmap(nullptr, model.size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    ASSERT_NE(map, MAP_FAILED) << ErrnoName(errno);
    const std::string patch = RandomBytes(7, bs + 10);
    std::memcpy(static_cast<char*>(map) + bs - 5, patch.data(), patch.size());
    model.replace(bs - 5, patch.size(), patch);
    ::munmap(map, model.size());
  }
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M("f"), model));
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, PosixIoExtraTest, ::testing::Values(4096u, 65536u),
                         BlockSizeName);

}  // namespace
}  // namespace modelvault::fs::test
