// Tampered backing files seen through a real mount. A file of about 300 KiB (and a second,
// smaller one to take blocks and headers from) is written through the mount; with the
// store unmounted, its backing file is changed the way an attacker with the backing dir
// could; after a remount, reading an affected range must fail with EIO and must never
// return wrong bytes, while unaffected blocks still read correctly.
//
// Backing file layout (docs/FORMAT.md): a 32-byte header, then blocks of nonce (12) +
// ciphertext (block size) + tag (16), the last block shorter.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

constexpr uint64_t kHeader = 32;
constexpr uint64_t kNonce = 12;
constexpr uint64_t kOverhead = 28;
constexpr size_t kSizeA = 300 * 1024 + 1000;  // a short last block at both block sizes
constexpr size_t kSizeB = 200 * 1024 + 500;

class TamperMountTest : public BlockSizeTest {
 protected:
  void SetUp() override {
    BlockSizeTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    bs_ = block_size();
    ASSERT_EQ(WriteFile(M("a"), content_a_), 0);
    ASSERT_EQ(WriteFile(M("b"), content_b_), 0);
    ASSERT_TRUE(Unmount());
    for (const std::string& name : ListDir(B(""))) {
      const auto st = Lstat(B(name));
      if (!st || !S_ISREG(st->st_mode) || name.starts_with(".") ||
          name.starts_with("modelvault.")) {
        continue;
      }
      if (static_cast<uint64_t>(st->st_size) == BackingSize(kSizeA)) backing_a_ = B(name);
      if (static_cast<uint64_t>(st->st_size) == BackingSize(kSizeB)) backing_b_ = B(name);
    }
    ASSERT_FALSE(backing_a_.empty()) << "no backing file of " << BackingSize(kSizeA)
                                     << " bytes for a " << kSizeA << "-byte file";
    ASSERT_FALSE(backing_b_.empty()) << "no backing file for the second file";
  }

  uint64_t Stored() const { return bs_ + kOverhead; }
  uint64_t BlockOffset(uint64_t i) const { return kHeader + i * Stored(); }
  uint64_t BackingSize(uint64_t plain) const {
    return kHeader + plain + kOverhead * ((plain + bs_ - 1) / bs_);
  }
  uint64_t Blocks() const { return (kSizeA + bs_ - 1) / bs_; }

  static std::string ReadRaw(const std::string& path, uint64_t off, size_t len) {
    Fd fd(::open(path.c_str(), O_RDONLY));
    int err = 0;
    std::string out = PreadAll(fd.get(), len, off, &err);
    EXPECT_EQ(out.size(), len) << path << ": " << ErrnoName(err);
    return out;
  }
  static void WriteRaw(const std::string& path, uint64_t off, std::string_view data) {
    Fd fd(::open(path.c_str(), O_WRONLY));
    ASSERT_TRUE(fd.valid()) << path << ": " << ErrnoName(errno);
    ASSERT_EQ(PwriteAll(fd.get(), data, off), 0);
  }
  static void FlipByte(const std::string& path, uint64_t off) {
    std::string byte = ReadRaw(path, off, 1);
    byte[0] = static_cast<char>(byte[0] ^ 0x01);
    WriteRaw(path, off, byte);
  }

  // Remounts and checks file "a": blocks in `bad` fail with EIO, every other block reads
  // back right, and a sequential read returns only right bytes and ends in EIO.
  void ExpectAfterRemount(const std::set<uint64_t>& bad) {
    ASSERT_TRUE(Mount());
    EXPECT_TRUE(FileHolds(M("b"), content_b_)) << "the other file was not touched";
    Fd fd(::open(M("a").c_str(), O_RDONLY));
    if (!fd.valid() && errno == EIO && bad.size() == Blocks()) return;  // refused at open
    ASSERT_TRUE(fd.valid()) << ErrnoName(errno);
    // No readahead: each pread below asks the filesystem for its own block only.
    ASSERT_EQ(::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_RANDOM), 0);
    for (uint64_t i = 0; i < Blocks(); ++i) {
      if (bad.contains(i)) continue;
      const uint64_t len = std::min<uint64_t>(bs_, kSizeA - i * bs_);
      int err = 0;
      const std::string got = PreadAll(fd.get(), len, i * bs_, &err);
      EXPECT_EQ(err, 0) << "untouched block " << i << ": " << ErrnoName(err);
      EXPECT_TRUE(SameBytes(got, std::string_view(content_a_).substr(i * bs_, len)))
          << "untouched block " << i;
    }
    for (const uint64_t i : bad) {
      // The whole block, and a few bytes from its middle.
      const uint64_t block_len = std::min<uint64_t>(bs_, kSizeA - i * bs_);
      for (const auto& [off, len] : {std::pair<uint64_t, uint64_t>{i * bs_, bs_},
                                     std::pair<uint64_t, uint64_t>{i * bs_ + block_len / 2, 10}}) {
        std::string buf(len, '\0');
        errno = 0;
        const ssize_t n = ::pread(fd.get(), buf.data(), len, static_cast<off_t>(off));
        const int err = errno;
        if (n >= 0) {
          const bool right =
              off + n <= kSizeA && buf.compare(0, n, content_a_, off, static_cast<size_t>(n)) == 0;
          ADD_FAILURE() << "pread(" << off << ", " << len << ") in tampered block " << i
                        << " returned " << n << (right ? " bytes" : " bytes of WRONG data")
                        << " instead of EIO";
        } else {
          EXPECT_EQ(err, EIO) << "tampered block " << i << ": " << ErrnoName(err);
        }
      }
    }
    MV_ASSERT_SYS(fd.Reset());
    ExpectSequentialReadEndsInEio();
  }

  void ExpectSequentialReadEndsInEio() {
    Fd fd(::open(M("a").c_str(), O_RDONLY));
    if (!fd.valid()) {
      EXPECT_EQ(errno, EIO) << "open: " << ErrnoName(errno);
      return;
    }
    std::string buf(128 * 1024, '\0');
    uint64_t off = 0;
    while (true) {
      const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0) {
        EXPECT_EQ(errno, EIO) << "sequential read at " << off << ": " << ErrnoName(errno);
        return;
      }
      if (n == 0) {
        ADD_FAILURE() << "sequential read hit a clean EOF at " << off << " (file was " << kSizeA
                      << " bytes) instead of EIO";
        return;
      }
      ASSERT_TRUE(SameBytes(std::string_view(buf).substr(0, static_cast<size_t>(n)),
                            std::string_view(content_a_).substr(off, static_cast<size_t>(n))))
          << "sequential read at " << off << " returned wrong data";
      off += static_cast<uint64_t>(n);
    }
  }

  uint64_t bs_ = 0;
  const std::string content_a_ = PatternBytes(1, kSizeA);
  const std::string content_b_ = PatternBytes(2, kSizeB);
  std::string backing_a_;
  std::string backing_b_;
};

TEST_P(TamperMountTest, FlippedCiphertextByteInBlock2) {
  FlipByte(backing_a_, BlockOffset(2) + kNonce + 77);
  ExpectAfterRemount({2});
}

TEST_P(TamperMountTest, FlippedNonceAndTagBytes) {
  FlipByte(backing_a_, BlockOffset(1) + 3);                  // nonce of block 1
  FlipByte(backing_a_, BlockOffset(3) + kNonce + bs_ + 15);  // last tag byte of block 3
  FlipByte(backing_a_, BackingSize(kSizeA) - 1);             // tag of the last block
  ExpectAfterRemount({1, 3, Blocks() - 1});
}

TEST_P(TamperMountTest, SwappedBlocks) {
  const std::string one = ReadRaw(backing_a_, BlockOffset(1), Stored());
  const std::string two = ReadRaw(backing_a_, BlockOffset(2), Stored());
  WriteRaw(backing_a_, BlockOffset(1), two);
  WriteRaw(backing_a_, BlockOffset(2), one);
  ExpectAfterRemount({1, 2});
}

TEST_P(TamperMountTest, BlockCopiedFromAnotherFile) {
  WriteRaw(backing_a_, BlockOffset(2), ReadRaw(backing_b_, BlockOffset(2), Stored()));
  ExpectAfterRemount({2});
}

TEST_P(TamperMountTest, BlockCopiedFromAnotherPosition) {
  WriteRaw(backing_a_, BlockOffset(3), ReadRaw(backing_a_, BlockOffset(0), Stored()));
  ExpectAfterRemount({3});
}

TEST_P(TamperMountTest, CutInTheMiddleOfABlock) {
  MV_ASSERT_SYS(::truncate(backing_a_.c_str(), static_cast<off_t>(BlockOffset(3) + Stored() / 2)));
  ASSERT_TRUE(Mount());
  Fd fd(::open(M("a").c_str(), O_RDONLY));
  MV_ASSERT_SYS(fd.get());
  ASSERT_EQ(::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_RANDOM), 0);
  int err = 0;
  EXPECT_TRUE(SameBytes(PreadAll(fd.get(), 3 * bs_, 0, &err), content_a_.substr(0, 3 * bs_)));
  EXPECT_EQ(err, 0) << ErrnoName(err);
  std::string buf(bs_, '\0');
  errno = 0;
  const ssize_t n = ::pread(fd.get(), buf.data(), bs_, static_cast<off_t>(3 * bs_));
  EXPECT_EQ(n, -1) << "reading the cut block returned " << n << " bytes instead of EIO";
  if (n < 0) {
    EXPECT_EQ(errno, EIO) << ErrnoName(errno);
  }
  MV_ASSERT_SYS(fd.Reset());
  ExpectSequentialReadEndsInEio();
}

TEST_P(TamperMountTest, CutInsideABlockNonce) {
  // Too little is left of block 3 to be a block at all; still not a clean end of file.
  MV_ASSERT_SYS(::truncate(backing_a_.c_str(), static_cast<off_t>(BlockOffset(3) + 5)));
  ASSERT_TRUE(Mount());
  ExpectSequentialReadEndsInEio();
}

TEST_P(TamperMountTest, HeaderFromAnotherFile) {
  WriteRaw(backing_a_, 0, ReadRaw(backing_b_, 0, kHeader));
  std::set<uint64_t> all;
  for (uint64_t i = 0; i < Blocks(); ++i) all.insert(i);
  ExpectAfterRemount(all);
}

TEST_P(TamperMountTest, ZeroedBlockIsNotAHole) {
  // An all-zero stored block must not read back as a hole of zeros.
  WriteRaw(backing_a_, BlockOffset(2), std::string(Stored(), '\0'));
  ExpectAfterRemount({2});
}

TEST_P(TamperMountTest, BackingFileMovedToAnotherDirectory) {
  // Names are sealed with their directory's ID: a backing file moved into another backing
  // directory must not show up there (nor as a garbage name).
  ASSERT_TRUE(Mount());
  MV_ASSERT_SYS(::mkdir(M("sub").c_str(), 0755));
  ASSERT_EQ(WriteFile(M("sub/x"), "x"), 0);
  ASSERT_TRUE(Unmount());
  std::string backing_sub;
  for (const std::string& name : ListDir(B(""))) {
    const auto st = Lstat(B(name));
    if (st && S_ISDIR(st->st_mode)) backing_sub = B(name);
  }
  ASSERT_FALSE(backing_sub.empty());
  const std::string moved = backing_sub + backing_a_.substr(backing_a_.rfind('/'));
  MV_ASSERT_SYS(::rename(backing_a_.c_str(), moved.c_str()));
  ASSERT_TRUE(Mount());
  int err = 0;
  const std::vector<std::string> names = ListDir(M("sub"), &err);
  if (err == 0) {
    EXPECT_EQ(names, std::vector<std::string>{"x"}) << "the moved file shows up";
    EXPECT_TRUE(FileHolds(M("sub/x"), "x"));
  } else {
    EXPECT_EQ(err, EIO) << ErrnoName(err);
  }
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, TamperMountTest, ::testing::Values(4096u, 65536u),
                         BlockSizeName);

}  // namespace
}  // namespace modelvault::fs::test
