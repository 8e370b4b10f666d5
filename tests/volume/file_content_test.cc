// Edge cases of FileContent over real backing files: empty files and the lazily written
// header, exact block multiples, sparse extension, nonces, truncation, and offsets past 4 GiB.
// Random sequences of operations are in file_content_random_test.cc, hostile backing files
// in file_content_tamper_test.cc.
#include "volume/file_content.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/volume/content_test_util.h"
#include "volume/content_layout.h"

namespace modelvault::volume {
namespace {

using test::FdSize;
using test::OpenRo;
using test::OpenRw;
using test::RawRead;
using test::ReadAll;
using test::TempDir;
using test::TestKeys;

constexpr uint32_t kBs = 4096;

class FileContentTest : public ::testing::Test {
 protected:
  FileContentTest() : keys_(TestKeys()), rng_(7) {}

  // A new, empty backing file loaded the way the filesystem loads one it just created.
  std::unique_ptr<FileContent> LoadEmpty(const std::string& name, UniqueFd& fd, uint32_t bs = kBs) {
    fd = OpenRw(dir_.File(name));
    auto fc = FileContent::Load(fd.get(), keys_, ContentLayout(bs), dir_.File(name));
    EXPECT_TRUE(fc.ok()) << fc.status().ToString();
    return fc.ok() ? std::move(*fc) : nullptr;
  }
  std::unique_ptr<FileContent> Create(const std::string& name, UniqueFd& fd, uint32_t bs = kBs) {
    fd = OpenRw(dir_.File(name));
    auto fc = FileContent::Create(fd.get(), keys_, ContentLayout(bs), dir_.File(name));
    EXPECT_TRUE(fc.ok()) << fc.status().ToString();
    return fc.ok() ? std::move(*fc) : nullptr;
  }
  std::unique_ptr<FileContent> Reload(const std::string& name, UniqueFd& fd, uint32_t bs = kBs) {
    fd = OpenRw(dir_.File(name));
    auto fc = FileContent::Load(fd.get(), keys_, ContentLayout(bs), dir_.File(name));
    EXPECT_TRUE(fc.ok()) << fc.status().ToString();
    return fc.ok() ? std::move(*fc) : nullptr;
  }
  std::vector<uint8_t> Bytes(size_t n) { return test::RandomBytes(rng_, n); }

  TempDir dir_;
  std::shared_ptr<const VolumeKeys> keys_;
  std::mt19937_64 rng_;
};

TEST_F(FileContentTest, EmptyBackingFileLoadsAndReadsNothing) {
  UniqueFd fd;
  auto fc = LoadEmpty("empty", fd);
  ASSERT_NE(fc, nullptr);
  EXPECT_FALSE(fc->file_id().has_value());
  auto size = fc->Size(fd.get());
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 0u);
  std::vector<uint8_t> out(100, 0xee);
  for (uint64_t offset : {uint64_t{0}, uint64_t{1}, uint64_t{kBs}, uint64_t{1} << 40}) {
    auto n = fc->Read(fd.get(), out, offset);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, 0u);
  }
  EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0xee; }));
  // Neither a no-op truncate nor an empty write creates the header.
  ASSERT_TRUE(fc->Truncate(fd.get(), 0).ok());
  ASSERT_TRUE(fc->Write(fd.get(), {}, 0).ok());
  ASSERT_TRUE(fc->Write(fd.get(), {}, 12345).ok());
  EXPECT_EQ(FdSize(fd.get()), 0u);
  EXPECT_FALSE(fc->file_id().has_value());
}

TEST_F(FileContentTest, FirstWriteCreatesTheHeader) {
  UniqueFd fd;
  auto fc = LoadEmpty("f", fd);
  ASSERT_NE(fc, nullptr);
  const uint8_t hello[] = {'h', 'e', 'l', 'l', 'o'};
  ASSERT_TRUE(fc->Write(fd.get(), hello, 0).ok());
  ASSERT_TRUE(fc->file_id().has_value());
  EXPECT_EQ(FdSize(fd.get()), ContentLayout(kBs).BackingSize(5));
  auto header = RawRead(fd.get(), 0, kFileHeaderSize);
  EXPECT_EQ(std::memcmp(header.data(), "MVFC", 4), 0);
  EXPECT_EQ(std::memcmp(header.data() + 16, fc->file_id()->bytes.data(), 16), 0);

  auto again = Reload("f", fd);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->file_id(), fc->file_id());
  auto all = ReadAll(*again, fd.get());
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, std::vector<uint8_t>(std::begin(hello), std::end(hello)));
}

TEST_F(FileContentTest, FirstWritePastEndOfEmptyFileZeroFills) {
  UniqueFd fd;
  auto fc = LoadEmpty("f", fd);
  ASSERT_NE(fc, nullptr);
  auto data = Bytes(10);
  const uint64_t offset = 3 * kBs + 5;
  ASSERT_TRUE(fc->Write(fd.get(), data, offset).ok());
  std::vector<uint8_t> want(offset, 0);
  want.insert(want.end(), data.begin(), data.end());
  auto all = ReadAll(*fc, fd.get());
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, want);
  EXPECT_EQ(FdSize(fd.get()), ContentLayout(kBs).BackingSize(want.size()));
}

TEST_F(FileContentTest, TruncateUpOnEmptyFileCreatesHeaderAndZeros) {
  UniqueFd fd;
  auto fc = LoadEmpty("f", fd);
  ASSERT_NE(fc, nullptr);
  ASSERT_TRUE(fc->Truncate(fd.get(), kBs + 1).ok());
  EXPECT_TRUE(fc->file_id().has_value());
  EXPECT_EQ(FdSize(fd.get()), ContentLayout(kBs).BackingSize(kBs + 1));
  auto loaded = Reload("f", fd);
  ASSERT_NE(loaded, nullptr);
  auto all = ReadAll(*loaded, fd.get());
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, std::vector<uint8_t>(kBs + 1, 0));
}

TEST_F(FileContentTest, CreateWritesA32ByteHeader) {
  UniqueFd fd1, fd2;
  auto a = Create("a", fd1);
  auto b = Create("b", fd2);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(FdSize(fd1.get()), 32u);
  auto header = RawRead(fd1.get(), 0, 32);
  const uint8_t want_prefix[] = {'M', 'V', 'F', 'C', 0, 1};
  EXPECT_EQ(std::memcmp(header.data(), want_prefix, sizeof(want_prefix)), 0);
  ASSERT_TRUE(a->file_id().has_value());
  EXPECT_EQ(std::memcmp(header.data() + 16, a->file_id()->bytes.data(), 16), 0);
  // File IDs are random: two files never share one.
  EXPECT_NE(a->file_id(), b->file_id());

  auto loaded = Reload("a", fd1);
  ASSERT_NE(loaded, nullptr);
  EXPECT_EQ(loaded->file_id(), a->file_id());
  auto size = loaded->Size(fd1.get());
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 0u);
  std::vector<uint8_t> out(10);
  auto n = loaded->Read(fd1.get(), out, 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_F(FileContentTest, FileOfExactlyNBlocks) {
  const ContentLayout layout(kBs);
  for (uint64_t blocks = 1; blocks <= 3; ++blocks) {
    SCOPED_TRACE(blocks);
    UniqueFd fd;
    std::string name = "n" + std::to_string(blocks);
    auto fc = Create(name, fd);
    ASSERT_NE(fc, nullptr);
    auto data = Bytes(blocks * kBs);
    ASSERT_TRUE(fc->Write(fd.get(), data, 0).ok());
    EXPECT_EQ(FdSize(fd.get()), kFileHeaderSize + blocks * (kBs + kBlockOverhead));
    // A read across every boundary (short at the end of file) and one starting at the end.
    std::vector<uint8_t> out(kBs + 2);
    for (uint64_t k = 1; k <= blocks; ++k) {
      uint64_t offset = k * kBs - 1;
      auto n = fc->Read(fd.get(), out, offset);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      ASSERT_EQ(*n, std::min<uint64_t>(out.size(), data.size() - offset));
      EXPECT_TRUE(std::equal(out.begin(), out.begin() + *n, data.begin() + offset));
    }
    auto n = fc->Read(fd.get(), out, blocks * kBs);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0u);
    n = fc->Read(fd.get(), out, blocks * kBs - 1);
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(*n, 1u);
    EXPECT_EQ(out[0], data.back());

    // One more byte starts a short block; truncating it away restores the exact size.
    const uint8_t one = 0x5a;
    ASSERT_TRUE(fc->Write(fd.get(), {&one, 1}, blocks * kBs).ok());
    EXPECT_EQ(FdSize(fd.get()), layout.BackingSize(blocks * kBs + 1));
    ASSERT_TRUE(fc->Truncate(fd.get(), blocks * kBs).ok());
    EXPECT_EQ(FdSize(fd.get()), kFileHeaderSize + blocks * layout.stored_block_size());
    auto loaded = Reload(name, fd);
    ASSERT_NE(loaded, nullptr);
    auto all = ReadAll(*loaded, fd.get());
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    EXPECT_EQ(*all, data);
  }
}

TEST_F(FileContentTest, SparseExtensionReadsZeros) {
  UniqueFd fd;
  auto fc = Create("f", fd);
  ASSERT_NE(fc, nullptr);
  auto head = Bytes(3);
  auto tail = Bytes(5);
  const uint64_t far = 7 * kBs + 11;
  ASSERT_TRUE(fc->Write(fd.get(), head, 0).ok());
  ASSERT_TRUE(fc->Write(fd.get(), tail, far).ok());
  std::vector<uint8_t> want(far + tail.size(), 0);
  std::copy(head.begin(), head.end(), want.begin());
  std::copy(tail.begin(), tail.end(), want.begin() + far);
  auto all = ReadAll(*fc, fd.get());
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, want);

  // Shrinking and growing again never brings back the cut bytes.
  ASSERT_TRUE(fc->Truncate(fd.get(), 2).ok());
  ASSERT_TRUE(fc->Truncate(fd.get(), far + tail.size()).ok());
  std::fill(want.begin() + 2, want.end(), 0);
  auto loaded = Reload("f", fd);
  ASSERT_NE(loaded, nullptr);
  all = ReadAll(*loaded, fd.get());
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, want);
}

TEST_F(FileContentTest, ShrinkReencryptsTheNewLastBlock) {
  const ContentLayout layout(kBs);
  UniqueFd fd;
  auto fc = Create("f", fd);
  ASSERT_NE(fc, nullptr);
  auto data = Bytes(3 * kBs);
  ASSERT_TRUE(fc->Write(fd.get(), data, 0).ok());
  auto block1_before = RawRead(fd.get(), layout.BlockOffset(1), kNonceSize);
  ASSERT_TRUE(fc->Truncate(fd.get(), kBs + 10).ok());
  EXPECT_EQ(FdSize(fd.get()), layout.BlockOffset(1) + 10 + kBlockOverhead);
  // The shortened block was sealed again, under a new nonce.
  EXPECT_NE(RawRead(fd.get(), layout.BlockOffset(1), kNonceSize), block1_before);
  auto all = ReadAll(*fc, fd.get());
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, std::vector<uint8_t>(data.begin(), data.begin() + kBs + 10));
  ASSERT_TRUE(fc->Truncate(fd.get(), 0).ok());
  EXPECT_EQ(FdSize(fd.get()), kFileHeaderSize);
}

TEST_F(FileContentTest, EveryWriteUsesAFreshNonceAndNoPlaintextLeaks) {
  const ContentLayout layout(kBs);
  UniqueFd fd1, fd2;
  auto a = Create("a", fd1);
  auto b = Create("b", fd2);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::vector<uint8_t> text(kBs, 'A');
  ASSERT_TRUE(a->Write(fd1.get(), text, 0).ok());
  auto first = RawRead(fd1.get(), layout.BlockOffset(0), layout.stored_block_size());
  ASSERT_TRUE(a->Write(fd1.get(), text, 0).ok());
  auto second = RawRead(fd1.get(), layout.BlockOffset(0), layout.stored_block_size());
  ASSERT_TRUE(b->Write(fd2.get(), text, 0).ok());
  auto other = RawRead(fd2.get(), layout.BlockOffset(0), layout.stored_block_size());
  EXPECT_NE(std::vector<uint8_t>(first.begin(), first.begin() + kNonceSize),
            std::vector<uint8_t>(second.begin(), second.begin() + kNonceSize));
  EXPECT_NE(first, second);
  EXPECT_NE(first, other);
  const std::string run(16, 'A');
  for (const auto& stored : {first, second, other}) {
    EXPECT_EQ(std::search(stored.begin(), stored.end(), run.begin(), run.end()), stored.end());
  }
}

TEST_F(FileContentTest, ReadsThroughAReadOnlyDescriptor) {
  UniqueFd fd;
  auto fc = Create("f", fd);
  ASSERT_NE(fc, nullptr);
  auto data = Bytes(2 * kBs + 77);
  ASSERT_TRUE(fc->Write(fd.get(), data, 0).ok());
  UniqueFd ro = OpenRo(dir_.File("f"));
  auto reader = FileContent::Load(ro.get(), keys_, ContentLayout(kBs), dir_.File("f"));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto all = ReadAll(**reader, ro.get());
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, data);
  std::vector<uint8_t> empty;
  auto n = (*reader)->Read(ro.get(), empty, 5);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

// Read() may run on many threads at once (each uses scratch buffers of its own).
TEST_F(FileContentTest, ConcurrentReadsAgree) {
  UniqueFd fd;
  auto fc = Create("f", fd);
  ASSERT_NE(fc, nullptr);
  auto data = Bytes(9 * kBs + 123);
  ASSERT_TRUE(fc->Write(fd.get(), data, 0).ok());
  std::vector<int> bad(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      std::vector<uint8_t> out(3 * kBs);
      for (int i = 0; i < 300; ++i) {
        uint64_t offset = rng() % data.size();
        auto len = static_cast<size_t>(rng() % out.size() + 1);
        auto n = fc->Read(fd.get(), std::span(out).first(len), offset);
        size_t want = std::min<size_t>(len, data.size() - offset);
        if (!n.ok() || *n != want ||
            !std::equal(out.begin(), out.begin() + want,
                        data.begin() + static_cast<ptrdiff_t>(offset))) {
          ++bad[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int b : bad) EXPECT_EQ(b, 0);
}

// Zero-filling 5 GiB for real encrypts and writes 5 GiB: measured at 0.2 GB/s (4 KiB blocks)
// to 0.8 GB/s (1 MiB blocks) on the development VM, 7 to 28 seconds, mostly the kernel copying
// into the page cache; far too slow and too much disk for a unit test. Instead the backing
// file is made sparse up to 5 GiB of plaintext and the blocks past it are written for real,
// which runs every 64-bit offset computation on the way. The unwritten blocks read back as
// all-zero stored blocks, and those must fail authentication rather than pass as a hole.
TEST_F(FileContentTest, OffsetsPast4GiBOnASparseBackingFile) {
  constexpr uint32_t kBigBs = kMaxBlockSize;
  constexpr uint64_t kFiveGiB = uint64_t{5} << 30;
  const ContentLayout layout(kBigBs);
  UniqueFd fd;
  auto fc = Create("big", fd, kBigBs);
  ASSERT_NE(fc, nullptr);
  if (ftruncate(fd.get(), static_cast<off_t>(layout.BackingSize(kFiveGiB))) != 0) {
    GTEST_SKIP() << "the temporary file system cannot hold a sparse 5 GiB file: "
                 << std::strerror(errno);
  }
  auto size = fc->Size(fd.get());
  ASSERT_TRUE(size.ok());
  ASSERT_EQ(*size, kFiveGiB);

  const uint8_t first[] = {0x7e};
  const uint8_t more[] = {1, 2, 3};
  ASSERT_TRUE(fc->Write(fd.get(), first, kFiveGiB).ok());     // aligned: nothing to merge
  ASSERT_TRUE(fc->Write(fd.get(), more, kFiveGiB + 3).ok());  // merges with the block above
  EXPECT_EQ(FdSize(fd.get()), layout.BackingSize(kFiveGiB + 6));
  std::vector<uint8_t> out(10, 0xee);
  auto n = fc->Read(fd.get(), out, kFiveGiB);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_EQ(*n, 6u);
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 6),
            (std::vector<uint8_t>{0x7e, 0, 0, 1, 2, 3}));

  ASSERT_TRUE(fc->Truncate(fd.get(), kFiveGiB + 4).ok());
  EXPECT_EQ(FdSize(fd.get()), layout.BackingSize(kFiveGiB + 4));
  auto loaded = Reload("big", fd, kBigBs);
  ASSERT_NE(loaded, nullptr);
  n = loaded->Read(fd.get(), out, kFiveGiB + 1);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_EQ(*n, 3u);
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 3), (std::vector<uint8_t>{0, 0, 1}));

  // The hole before it is not zeros: its blocks do not authenticate.
  n = loaded->Read(fd.get(), out, kFiveGiB - 5);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace modelvault::volume
