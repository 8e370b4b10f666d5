// File I/O through a mounted store: read/write/pread/pwrite at offsets and sizes around
// block boundaries, appends from two descriptors, O_TRUNC, ftruncate, fallocate, mmap.
// Every test runs at block sizes 4096 and 65536, and checks contents again after a remount
// (which drops the kernel's page cache, so the bytes come back through decryption).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

class PosixIoTest : public BlockSizeTest {
 protected:
  // Applies a pwrite of `data` at `offset` to the model of a file's content.
  static void ModelWrite(std::string* model, uint64_t offset, std::string_view data) {
    if (model->size() < offset + data.size()) model->resize(offset + data.size(), '\0');
    model->replace(offset, data.size(), data);
  }
  static uint64_t SizeOf(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : ~0ULL;
  }
};

TEST_P(PosixIoTest, WholeFilesOfBoundarySizesReadBack) {
  const size_t bs = block_size();
  const size_t sizes[] = {0, 1, 15, bs - 1, bs, bs + 1, 2 * bs + 7, 3 * bs, 5 * bs - 3};
  for (const size_t size : sizes) {
    const std::string path = M("f" + std::to_string(size));
    ASSERT_EQ(WriteFile(path, PatternBytes(size, size)), 0) << path;
    EXPECT_TRUE(FileHolds(path, PatternBytes(size, size)));
  }
  ASSERT_TRUE(Remount());
  for (const size_t size : sizes) {
    const std::string path = M("f" + std::to_string(size));
    EXPECT_TRUE(FileHolds(path, PatternBytes(size, size)));
    const auto st = Lstat(path);
    ASSERT_TRUE(st.has_value()) << path;
    EXPECT_EQ(static_cast<size_t>(st->st_size), size) << path;
  }
}

TEST_P(PosixIoTest, PwriteAtManyOffsetsMatchesModel) {
  const uint64_t bs = block_size();
  std::string model = PatternBytes(1, 5 * bs + 123);
  const std::string path = M("f");
  ASSERT_EQ(WriteFile(path, model), 0);
  Fd fd(::open(path.c_str(), O_RDWR));
  MV_ASSERT_SYS(fd.get());
  const uint64_t offsets[] = {0,          1,      bs - 1,     bs,           bs + 1,
                              2 * bs - 3, 3 * bs, 3 * bs + 5, 5 * bs + 100, 5 * bs + 123,
                              6 * bs + 77};
  const uint64_t sizes[] = {1, 2, 17, bs - 1, bs, bs + 1, 2 * bs + 3};
  uint64_t seed = 100;
  for (const uint64_t off : offsets) {
    for (const uint64_t size : sizes) {
      const std::string data = RandomBytes(seed++, size);
      ASSERT_EQ(PwriteAll(fd.get(), data, off), 0) << "pwrite off=" << off << " size=" << size;
      ModelWrite(&model, off, data);
      const uint64_t from = off > bs ? off - bs : 0;
      const uint64_t len = std::min<uint64_t>(size + 2 * bs, model.size() - from);
      int err = 0;
      const std::string got = PreadAll(fd.get(), len, from, &err);
      ASSERT_EQ(err, 0) << ErrnoName(err);
      ASSERT_TRUE(SameBytes(got, std::string_view(model).substr(from, len)))
          << "window at " << from << " after pwrite off=" << off << " size=" << size;
    }
  }
  EXPECT_EQ(SizeOf(fd.get()), model.size());
  MV_ASSERT_SYS(fd.Reset());
  EXPECT_TRUE(FileHolds(path, model));
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(path, model));
}

TEST_P(PosixIoTest, PreadAtManyOffsetsAfterRemount) {
  const uint64_t bs = block_size();
  const std::string content = PatternBytes(2, 3 * bs + 555);
  ASSERT_EQ(WriteFile(M("f"), content), 0);
  ASSERT_TRUE(Remount());
  Fd fd(::open(M("f").c_str(), O_RDONLY));
  MV_ASSERT_SYS(fd.get());
  const uint64_t size = content.size();
  const uint64_t offsets[] = {0,      1,        bs - 1, bs,       bs + 1, 2 * bs + 100,
                              3 * bs, size - 1, size,   size + 1, 10 * bs};
  const uint64_t lengths[] = {1, 100, bs, bs + 1, size, 4 * bs};
  std::string buf;
  for (const uint64_t off : offsets) {
    for (const uint64_t len : lengths) {
      buf.assign(len, '\x7f');
      const ssize_t n = ::pread(fd.get(), buf.data(), len, static_cast<off_t>(off));
      const uint64_t want = off >= size ? 0 : std::min(len, size - off);
      ASSERT_EQ(n, static_cast<ssize_t>(want))
          << "pread off=" << off << " len=" << len << ": " << (n < 0 ? ErrnoName(errno) : "short");
      ASSERT_TRUE(SameBytes(std::string_view(buf).substr(0, want),
                            std::string_view(content).substr(std::min(off, size), want)))
          << "pread off=" << off << " len=" << len;
    }
  }
  // Sequential read() in odd chunk sizes.
  std::string all;
  char chunk[65537];
  ssize_t n = 0;
  MV_ASSERT_SYS(::lseek(fd.get(), 0, SEEK_SET));
  while ((n = ::read(fd.get(), chunk, 4099)) > 0) all.append(chunk, static_cast<size_t>(n));
  MV_ASSERT_SYS(n);
  EXPECT_TRUE(SameBytes(all, content));
}

TEST_P(PosixIoTest, WritesPastEofLeaveZeros) {
  const uint64_t bs = block_size();
  // An empty file written far past its end.
  {
    Fd fd(::open(M("empty").c_str(), O_RDWR | O_CREAT | O_EXCL, 0644));
    MV_ASSERT_SYS(fd.get());
    ASSERT_EQ(PwriteAll(fd.get(), "abc", 3 * bs + 100), 0);
    EXPECT_EQ(SizeOf(fd.get()), 3 * bs + 103);
  }
  std::string empty_model(3 * bs + 100, '\0');
  empty_model += "abc";
  // A file with a partial last block: gaps inside that block and across blocks.
  std::string model = PatternBytes(3, 100);
  ASSERT_EQ(WriteFile(M("partial"), model), 0);
  {
    Fd fd(::open(M("partial").c_str(), O_RDWR));
    MV_ASSERT_SYS(fd.get());
    ASSERT_EQ(PwriteAll(fd.get(), "xyz", 150), 0);
    ModelWrite(&model, 150, "xyz");
    ASSERT_EQ(PwriteAll(fd.get(), RandomBytes(7, 33), 2 * bs + 10), 0);
    ModelWrite(&model, 2 * bs + 10, RandomBytes(7, 33));
    // write() after lseek() past the end.
    MV_ASSERT_SYS(::lseek(fd.get(), static_cast<off_t>(4 * bs - 1), SEEK_SET));
    ASSERT_EQ(::write(fd.get(), "QR", 2), 2);
    ModelWrite(&model, 4 * bs - 1, "QR");
  }
  // A file that ends exactly on a block boundary.
  std::string full = PatternBytes(4, bs);
  ASSERT_EQ(WriteFile(M("full"), full), 0);
  {
    Fd fd(::open(M("full").c_str(), O_WRONLY));
    MV_ASSERT_SYS(fd.get());
    ASSERT_EQ(PwriteAll(fd.get(), "!", bs + bs / 2), 0);
    ModelWrite(&full, bs + bs / 2, "!");
  }
  EXPECT_TRUE(FileHolds(M("empty"), empty_model));
  EXPECT_TRUE(FileHolds(M("partial"), model));
  EXPECT_TRUE(FileHolds(M("full"), full));
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M("empty"), empty_model));
  EXPECT_TRUE(FileHolds(M("partial"), model));
  EXPECT_TRUE(FileHolds(M("full"), full));
}

TEST_P(PosixIoTest, TwoAppendingDescriptorsInterleave) {
  const size_t bs = block_size();
  std::string expected = "existing content\n";
  ASSERT_EQ(WriteFile(M("log"), expected), 0);
  Fd a(::open(M("log").c_str(), O_WRONLY | O_APPEND));
  Fd b(::open(M("log").c_str(), O_RDWR | O_APPEND));
  MV_ASSERT_SYS(a.get());
  MV_ASSERT_SYS(b.get());
  const size_t sizes[] = {1, 100, bs - 1, bs + 3, 7, 2 * bs};
  for (int i = 0; i < 30; ++i) {
    const int fd = i % 2 == 0 ? a.get() : b.get();
    const std::string data = RandomBytes(1000 + i, sizes[i % std::size(sizes)]);
    ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()))
        << "append #" << i << ": " << ErrnoName(errno);
    expected += data;
    EXPECT_EQ(::lseek(fd, 0, SEEK_CUR), static_cast<off_t>(expected.size()))
        << "offset after append #" << i;
  }
  EXPECT_EQ(SizeOf(a.get()), expected.size());
  MV_ASSERT_SYS(a.Reset());
  MV_ASSERT_SYS(b.Reset());
  EXPECT_TRUE(FileHolds(M("log"), expected));
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M("log"), expected));
}

TEST_P(PosixIoTest, OTruncEmptiesTheFile) {
  const size_t bs = block_size();
  ASSERT_EQ(WriteFile(M("f"), PatternBytes(5, 3 * bs + 1)), 0);
  {
    Fd fd(::open(M("f").c_str(), O_WRONLY | O_TRUNC));
    MV_ASSERT_SYS(fd.get());
    EXPECT_EQ(SizeOf(fd.get()), 0u);
    ASSERT_EQ(::write(fd.get(), "hello", 5), 5);
  }
  EXPECT_TRUE(FileHolds(M("f"), "hello"));
  ASSERT_EQ(WriteFile(M("g"), PatternBytes(6, bs)), 0);
  {
    Fd fd(::open(M("g").c_str(), O_RDWR | O_TRUNC | O_CREAT, 0644));
    MV_ASSERT_SYS(fd.get());
    char c;
    EXPECT_EQ(::read(fd.get(), &c, 1), 0);
  }
  // Linux truncates on O_RDONLY | O_TRUNC too (given write permission).
  ASSERT_EQ(WriteFile(M("h"), PatternBytes(6, bs + 5)), 0);
  {
    Fd fd(::open(M("h").c_str(), O_RDONLY | O_TRUNC));
    MV_ASSERT_SYS(fd.get());
    EXPECT_EQ(SizeOf(fd.get()), 0u);
  }
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M("f"), "hello"));
  EXPECT_TRUE(FileHolds(M("g"), ""));
  EXPECT_TRUE(FileHolds(M("h"), "")) << "O_RDONLY | O_TRUNC did not reach the backing file";
}

TEST_P(PosixIoTest, FtruncateUpAndDownZeroFills) {
  const uint64_t bs = block_size();
  std::string model = PatternBytes(7, 3 * bs + 500);
  ASSERT_EQ(WriteFile(M("f"), model), 0);
  Fd fd(::open(M("f").c_str(), O_RDWR));
  MV_ASSERT_SYS(fd.get());
  const uint64_t sizes[] = {2 * bs + 10, 4 * bs + 3, bs, 0, 100, bs + 1, 3 * bs - 1, 5, 2 * bs};
  uint64_t seed = 200;
  for (const uint64_t size : sizes) {
    MV_ASSERT_SYS(::ftruncate(fd.get(), static_cast<off_t>(size)));
    model.resize(size, '\0');
    ASSERT_EQ(SizeOf(fd.get()), size);
    int err = 0;
    ASSERT_TRUE(SameBytes(PreadAll(fd.get(), model.size() + 10, 0, &err), model))
        << "after ftruncate to " << size;
    ASSERT_EQ(err, 0);
    // Dirty the middle of the file so the next truncation has fresh data to cut.
    const std::string data = RandomBytes(seed++, 20);
    ASSERT_EQ(PwriteAll(fd.get(), data, size / 2), 0);
    ModelWrite(&model, size / 2, data);
  }
  MV_ASSERT_SYS(fd.Reset());
  MV_ASSERT_SYS(::truncate(M("f").c_str(), static_cast<off_t>(bs + 77)));
  model.resize(bs + 77, '\0');
  EXPECT_TRUE(FileHolds(M("f"), model));
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M("f"), model));
}

TEST_P(PosixIoTest, FallocateExtendsWithZerosOrKeepsSize) {
  const uint64_t bs = block_size();
  std::string model = PatternBytes(8, 1000);
  ASSERT_EQ(WriteFile(M("f"), model), 0);
  Fd fd(::open(M("f").c_str(), O_RDWR));
  MV_ASSERT_SYS(fd.get());
  MV_ASSERT_SYS(::fallocate(fd.get(), 0, 0, 500));
  EXPECT_EQ(SizeOf(fd.get()), 1000u) << "fallocate inside the file changed its size";
  MV_ASSERT_SYS(::fallocate(fd.get(), 0, static_cast<off_t>(2 * bs), 100));
  model.resize(2 * bs + 100, '\0');
  EXPECT_EQ(SizeOf(fd.get()), model.size()) << "fallocate mode 0 past EOF must extend";
  MV_ASSERT_SYS(::fallocate(fd.get(), FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(5 * bs)));
  EXPECT_EQ(SizeOf(fd.get()), model.size()) << "FALLOC_FL_KEEP_SIZE changed the size";
  int err = 0;
  EXPECT_TRUE(SameBytes(PreadAll(fd.get(), 6 * bs, 0, &err), model));
  MV_ASSERT_SYS(fd.Reset());
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M("f"), model));
}

TEST_P(PosixIoTest, MmapReadMatchesRead) {
  const size_t bs = block_size();
  const std::string content = PatternBytes(9, 3 * bs + 777);
  ASSERT_EQ(WriteFile(M("f"), content), 0);
  ASSERT_TRUE(Remount());
  Fd fd(::open(M("f").c_str(), O_RDONLY));
  MV_ASSERT_SYS(fd.get());
  void* shared = ::mmap(nullptr, content.size(), PROT_READ, MAP_SHARED, fd.get(), 0);
  ASSERT_NE(shared, MAP_FAILED) << ErrnoName(errno);
  EXPECT_TRUE(SameBytes(std::string_view(static_cast<char*>(shared), content.size()), content));
  ::munmap(shared, content.size());
  // A private mapping starting at the second block.
  const size_t len = content.size() - bs;
  void* priv = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd.get(), static_cast<off_t>(bs));
  ASSERT_NE(priv, MAP_FAILED) << ErrnoName(errno);
  EXPECT_TRUE(SameBytes(std::string_view(static_cast<char*>(priv), len),
                        std::string_view(content).substr(bs)));
  ::munmap(priv, len);
}

TEST_P(PosixIoTest, MmapSharedWriteReachesReadAndSurvivesRemount) {
  const size_t bs = block_size();
  std::string model = PatternBytes(10, 2 * bs + 100);
  ASSERT_EQ(WriteFile(M("f"), model), 0);
  Fd fd(::open(M("f").c_str(), O_RDWR));
  MV_ASSERT_SYS(fd.get());
  void* map = ::mmap(nullptr, model.size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  ASSERT_NE(map, MAP_FAILED) << ErrnoName(errno);
  char* p = static_cast<char*>(map);
  const std::string patch = RandomBytes(11, 50);
  p[0] = 'A';
  std::memcpy(p + bs - 1, "BCD", 3);
  std::memcpy(p + 2 * bs + 10, patch.data(), patch.size());
  p[model.size() - 1] = 'Z';
  model[0] = 'A';
  model.replace(bs - 1, 3, "BCD");
  model.replace(2 * bs + 10, patch.size(), patch);
  model.back() = 'Z';
  EXPECT_EQ(::msync(map, model.size(), MS_SYNC), 0) << ErrnoName(errno);
  ::munmap(map, model.size());
  int err = 0;
  EXPECT_TRUE(SameBytes(PreadAll(fd.get(), model.size() + 1, 0, &err), model));
  MV_ASSERT_SYS(fd.Reset());
  EXPECT_TRUE(FileHolds(M("f"), model));
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M("f"), model));
}

TEST_P(PosixIoTest, LargeSequentialTransfersInOddChunks) {
  const std::string content = PatternBytes(12, 3 * 1024 * 1024 + 11);
  {
    Fd fd(::open(M("big").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600));
    MV_ASSERT_SYS(fd.get());
    for (size_t off = 0; off < content.size(); off += 100003) {
      const size_t n = std::min<size_t>(100003, content.size() - off);
      ASSERT_EQ(::write(fd.get(), content.data() + off, n), static_cast<ssize_t>(n));
    }
    MV_ASSERT_SYS(::fsync(fd.get()));
  }
  EXPECT_TRUE(FileHolds(M("big"), content));
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M("big"), content));
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, PosixIoTest, ::testing::Values(4096u, 65536u), BlockSizeName);

}  // namespace
}  // namespace modelvault::fs::test
