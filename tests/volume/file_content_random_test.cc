// Differential test of FileContent: thousands of random writes, truncates and reads, biased
// towards block-boundary edge cases, applied both to a FileContent over a real backing file
// and to an in-memory byte vector. After every operation the sizes (plaintext and backing)
// must agree; the whole content is compared periodically, and the file is reloaded through
// FileContent::Load on a fresh descriptor to prove the state is on disk, not in the object.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "tests/volume/content_test_util.h"
#include "volume/content_layout.h"
#include "volume/file_content.h"

namespace modelvault::volume {
namespace {

using test::FdSize;
using test::OpenRo;
using test::OpenRw;
using test::TempDir;
using test::TestKeys;

constexpr int kOps = 2000;
constexpr int kCompareEvery = 25;
constexpr int kReloadEvery = 150;
// The file stays within this many blocks (plus one write of up to 3 blocks past it), so a
// whole-content comparison stays cheap.
constexpr uint64_t kMaxBlocks = 10;

class Harness {
 public:
  Harness(uint32_t block_size, uint64_t seed)
      : bs_(block_size), layout_(block_size), keys_(TestKeys()), rng_(seed) {
    pool_ = test::RandomBytes(rng_, 4 * bs_);
    path_ = dir_.File("file");
    fd_ = OpenRw(path_);
    auto fc = FileContent::Create(fd_.get(), keys_, layout_, path_);
    EXPECT_TRUE(fc.ok()) << fc.status().ToString();
    if (fc.ok()) fc_ = std::move(*fc);
  }

  bool ready() const { return fc_ != nullptr; }

  // Runs random operation `i` and checks the sizes afterwards; what_ describes it.
  void Step(int i) {
    uint64_t roll = Uniform(0, 99);
    if (roll < 45) {
      DoWrite();
    } else if (roll < 65) {
      DoTruncate();
    } else {
      DoRead();
    }
    if (::testing::Test::HasFatalFailure()) return;
    CheckSizes();
    if (i % kCompareEvery == 0) CheckContent(*fc_, fd_.get());
    if (i % kReloadEvery == 0) Reload();
  }

  void CheckSizes() {
    auto size = fc_->Size(fd_.get());
    ASSERT_TRUE(size.ok()) << what_ << ": " << size.status().ToString();
    ASSERT_EQ(*size, ref_.size()) << what_;
    ASSERT_EQ(FdSize(fd_.get()), layout_.BackingSize(ref_.size())) << what_;
  }

  void CheckContent() { CheckContent(*fc_, fd_.get()); }
  void CheckContent(const FileContent& fc, int fd) {
    auto all = test::ReadAll(fc, fd);
    ASSERT_TRUE(all.ok()) << what_ << ": " << all.status().ToString();
    ASSERT_EQ(all->size(), ref_.size()) << what_;
    if (ref_.empty() || std::memcmp(all->data(), ref_.data(), ref_.size()) == 0) return;
    auto mismatch = std::mismatch(all->begin(), all->end(), ref_.begin());
    FAIL() << what_ << ": first difference at byte " << (mismatch.first - all->begin());
  }

  // Closes the descriptor, loads the file afresh and carries on with the new object. A second,
  // read-only descriptor with its own FileContent must see the same bytes.
  void Reload() {
    auto id = fc_->file_id();
    fc_.reset();
    fd_ = OpenRw(path_);
    auto fc = FileContent::Load(fd_.get(), keys_, layout_, path_);
    ASSERT_TRUE(fc.ok()) << what_ << ": " << fc.status().ToString();
    fc_ = std::move(*fc);
    ASSERT_EQ(fc_->file_id(), id);
    CheckContent(*fc_, fd_.get());
    UniqueFd ro = OpenRo(path_);
    auto reader = FileContent::Load(ro.get(), keys_, layout_, path_);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    CheckContent(**reader, ro.get());
  }

 private:
  uint64_t Uniform(uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }

  // An offset near something interesting (the end of file, a block boundary) half of the
  // time, anywhere up to `limit` otherwise.
  uint64_t PickOffset(uint64_t limit) {
    uint64_t base;
    switch (Uniform(0, 5)) {
      case 0:
        return 0;
      case 1:
        base = ref_.size();
        break;
      case 2:
      case 3:
        base = Uniform(0, kMaxBlocks) * bs_;
        break;
      default:
        return Uniform(0, limit);
    }
    int delta = static_cast<int>(Uniform(0, 2)) - 1;  // -1, 0 or +1
    if (delta < 0 && base == 0) return 0;
    return base + delta;
  }

  // A length that is a block-size edge case half of the time, anything in [0, 3 blocks]
  // otherwise.
  uint64_t PickLength() {
    const uint64_t edges[] = {0,       1,           bs_ - 1,     bs_,    bs_ + 1,
                              2 * bs_, 2 * bs_ + 1, 3 * bs_ - 1, 3 * bs_};
    if (Uniform(0, 1) == 0) return edges[Uniform(0, std::size(edges) - 1)];
    return Uniform(0, 3 * bs_);
  }

  // Random bytes: a slice of a random pool at a random position, so that a byte written to
  // the wrong place almost surely differs from the one expected there.
  std::vector<uint8_t> Data(uint64_t len) {
    auto start = pool_.begin() + static_cast<ptrdiff_t>(Uniform(0, pool_.size() - len));
    return std::vector<uint8_t>(start, start + static_cast<ptrdiff_t>(len));
  }

  void DoWrite() {
    uint64_t offset = PickOffset(kMaxBlocks * bs_);
    auto data = Data(PickLength());
    what_ = "Write(offset=" + std::to_string(offset) + ", len=" + std::to_string(data.size()) +
            ") on size " + std::to_string(ref_.size());
    Status st = fc_->Write(fd_.get(), data, offset);
    ASSERT_TRUE(st.ok()) << what_ << ": " << st.ToString();
    if (data.empty()) return;  // like write(2): a zero-length write never extends the file
    if (offset + data.size() > ref_.size()) ref_.resize(offset + data.size(), 0);
    std::copy(data.begin(), data.end(), ref_.begin() + static_cast<ptrdiff_t>(offset));
  }

  void DoTruncate() {
    uint64_t size = Uniform(0, 9) == 0 ? 0 : PickOffset(kMaxBlocks * bs_);
    what_ = "Truncate(" + std::to_string(size) + ") from size " + std::to_string(ref_.size());
    Status st = fc_->Truncate(fd_.get(), size);
    ASSERT_TRUE(st.ok()) << what_ << ": " << st.ToString();
    ref_.resize(size, 0);
  }

  void DoRead() {
    uint64_t offset = PickOffset((kMaxBlocks + 1) * bs_);
    uint64_t len = PickLength();
    what_ = "Read(offset=" + std::to_string(offset) + ", len=" + std::to_string(len) +
            ") on size " + std::to_string(ref_.size());
    // The sentinel after the expected bytes proves Read() stays inside its count.
    std::vector<uint8_t> out(len, 0xa5);
    auto n = fc_->Read(fd_.get(), out, offset);
    ASSERT_TRUE(n.ok()) << what_ << ": " << n.status().ToString();
    uint64_t want = offset >= ref_.size() ? 0 : std::min<uint64_t>(len, ref_.size() - offset);
    ASSERT_EQ(*n, want) << what_;
    ASSERT_TRUE(std::equal(out.begin(), out.begin() + static_cast<ptrdiff_t>(want),
                           ref_.begin() + static_cast<ptrdiff_t>(std::min(offset, ref_.size()))))
        << what_;
    ASSERT_TRUE(std::all_of(out.begin() + static_cast<ptrdiff_t>(want), out.end(),
                            [](uint8_t b) { return b == 0xa5; }))
        << what_ << ": bytes past the returned count were written";
  }

  const uint64_t bs_;
  const ContentLayout layout_;
  std::shared_ptr<const VolumeKeys> keys_;
  std::mt19937_64 rng_;
  TempDir dir_;
  std::string path_;
  UniqueFd fd_;
  std::unique_ptr<FileContent> fc_;
  std::vector<uint8_t> ref_;
  std::vector<uint8_t> pool_;
  std::string what_ = "(start)";
};

class FileContentRandomTest : public ::testing::TestWithParam<std::tuple<uint32_t, uint64_t>> {};

TEST_P(FileContentRandomTest, MatchesInMemoryReference) {
  auto [block_size, seed] = GetParam();
  Harness h(block_size, seed);
  ASSERT_TRUE(h.ready());
  for (int i = 1; i <= kOps; ++i) {
    h.Step(i);
    if (HasFatalFailure()) {
      ADD_FAILURE() << "at operation " << i << " (block size " << block_size << ", seed " << seed
                    << ")";
      return;
    }
  }
  h.CheckContent();
  h.Reload();
}

INSTANTIATE_TEST_SUITE_P(
    BlockSizesAndSeeds, FileContentRandomTest,
    ::testing::Combine(::testing::Values(uint32_t{4096}, uint32_t{16384}, uint32_t{65536}),
                       ::testing::Values(uint64_t{1}, uint64_t{0x5eed}, uint64_t{20240611})),
    [](const auto& info) {
      return "bs" + std::to_string(std::get<0>(info.param)) + "_seed" +
             std::to_string(std::get<1>(info.param));
    });

}  // namespace
}  // namespace modelvault::volume
