// codec_bench: FileContent (the block codec under every FUSE read and write) without FUSE or
// a disk in the way. A 64 MiB file lives in memory (/dev/shm, or $CODEC_BENCH_DIR), so the
// numbers are AES-256-GCM plus the codec's own copying and system calls.
//
//   BM_SeqWrite/BS/REQ   write a new 64 MiB file front to back in REQ-byte pieces
//   BM_SeqRead/BS/REQ    read the whole 64 MiB file front to back in REQ-byte pieces
//   BM_SeqReadVerified   the same with every block checked against its Merkle leaf
//   BM_RandRead4K/BS     4 KiB reads at random 4 KiB-aligned offsets (items/s = IOPS)
//   BM_Load              FileContent::Load of a written file: what the first open of each
//                        file costs (header read and per-file key derivation)
//
// BS is the store's block size, REQ the request size (128 KiB is the kernel's default FUSE
// request, 1 MiB the largest modelvault asks for).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "crypto/random.h"
#include "volume/content_layout.h"
#include "volume/file_content.h"
#include "volume/manifest.h"
#include "volume/volume_keys.h"

namespace modelvault::volume {
namespace {

constexpr uint64_t kFileSize = 64ull << 20;
constexpr int64_t kBlockSizes[] = {4096, 16384, 65536, 262144, 1048576};
constexpr int64_t kRequestSizes[] = {128 << 10, 1 << 20};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "codec_bench: %s\n", what.c_str());
  std::abort();
}

template <class T>
T Check(Result<T> r, const char* what) {
  if (!r.ok()) Fail(std::string(what) + ": " + r.status().ToString());
  return std::move(r).value();
}

void Check(const Status& st, const char* what) {
  if (!st.ok()) Fail(std::string(what) + ": " + st.ToString());
}

std::shared_ptr<const VolumeKeys> Keys() {
  static const std::shared_ptr<const VolumeKeys> keys = [] {
    SecretBytes master = Check(crypto::RandomSecret(kMasterKeySize), "master key");
    return Check(VolumeKeys::Derive(master), "derive keys");
  }();
  return keys;
}

// An unlinked temporary file in memory; closed when the benchmark ends.
class TempFile {
 public:
  TempFile() {
    const char* dir = std::getenv("CODEC_BENCH_DIR");
    std::string base = dir ? dir : (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    std::string tmpl = base + "/codec_bench.XXXXXX";
    fd_ = mkstemp(tmpl.data());
    if (fd_ < 0) Fail("mkstemp " + tmpl + ": " + std::strerror(errno));
    unlink(tmpl.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() { close(fd_); }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

std::vector<uint8_t> Pattern(size_t size) {
  std::vector<uint8_t> buf(size);
  std::mt19937_64 rng(7);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  return buf;
}

// Writes kFileSize bytes to a fresh file in `req`-byte pieces.
void WriteWholeFile(FileContent& fc, int fd, const std::vector<uint8_t>& piece) {
  for (uint64_t off = 0; off < kFileSize; off += piece.size()) {
    Check(fc.Write(fd, piece, off), "write");
  }
}

std::unique_ptr<FileContent> FilledFile(const TempFile& file, uint32_t block_size) {
  auto fc =
      Check(FileContent::Create(file.fd(), Keys(), ContentLayout(block_size), "bench"), "create");
  WriteWholeFile(*fc, file.fd(), Pattern(1 << 20));
  return fc;
}

void BM_SeqWrite(benchmark::State& state) {
  const auto block_size = static_cast<uint32_t>(state.range(0));
  const std::vector<uint8_t> piece = Pattern(static_cast<size_t>(state.range(1)));
  TempFile file;
  for (auto _ : state) {
    state.PauseTiming();
    if (ftruncate(file.fd(), 0) != 0) Fail("ftruncate");
    auto fc =
        Check(FileContent::Create(file.fd(), Keys(), ContentLayout(block_size), "bench"), "create");
    state.ResumeTiming();
    WriteWholeFile(*fc, file.fd(), piece);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kFileSize));
}

void BM_SeqRead(benchmark::State& state) {
  const auto block_size = static_cast<uint32_t>(state.range(0));
  std::vector<uint8_t> buf(static_cast<size_t>(state.range(1)));
  TempFile file;
  auto fc = FilledFile(file, block_size);
  for (auto _ : state) {
    for (uint64_t off = 0; off < kFileSize; off += buf.size()) {
      size_t n = Check(fc->Read(file.fd(), buf, off), "read");
      benchmark::DoNotOptimize(n);
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kFileSize));
}

// BM_SeqRead with every block checked against its Merkle leaf, as a reader that trusts a
// signed directory does (volume/manifest.h): the cost of signature checking on reads.
void BM_SeqReadVerified(benchmark::State& state) {
  const auto block_size = static_cast<uint32_t>(state.range(0));
  std::vector<uint8_t> buf(static_cast<size_t>(state.range(1)));
  TempFile file;
  auto fc = FilledFile(file, block_size);
  // The leaves, as `sign` would have written them: one pass that records each block's.
  // Parts of a request are read on several threads: each writes only its own blocks' leaves.
  std::vector<crypto::Digest> leaves(kFileSize / block_size);
  FileContent::BlockCheck record = [&](uint64_t index, std::span<const uint8_t> stored) {
    leaves.at(index) = volume::MerkleLeaf(stored);
    return Status::Ok();
  };
  for (uint64_t off = 0; off < kFileSize; off += buf.size())
    Check(fc->Read(file.fd(), buf, off, record), "read");
  FileContent::BlockCheck verify = [&](uint64_t index, std::span<const uint8_t> stored) {
    if (index >= leaves.size() || volume::MerkleLeaf(stored) != leaves[index]) {
      return Status::Corruption("block differs");
    }
    return Status::Ok();
  };
  for (auto _ : state) {
    for (uint64_t off = 0; off < kFileSize; off += buf.size()) {
      size_t n = Check(fc->Read(file.fd(), buf, off, verify), "read");
      benchmark::DoNotOptimize(n);
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kFileSize));
}

void BM_RandRead4K(benchmark::State& state) {
  constexpr uint64_t kPage = 4096;
  const auto block_size = static_cast<uint32_t>(state.range(0));
  std::vector<uint8_t> buf(kPage);
  TempFile file;
  auto fc = FilledFile(file, block_size);
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<uint64_t> pick(0, kFileSize / kPage - 1);
  for (auto _ : state) {
    size_t n = Check(fc->Read(file.fd(), buf, pick(rng) * kPage), "read");
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kPage));
}

void BM_Load(benchmark::State& state) {
  TempFile file;
  auto fc = Check(FileContent::Create(file.fd(), Keys(), ContentLayout(kDefaultBlockSize), "bench"),
                  "create");
  Check(fc->Write(file.fd(), Pattern(4096), 0), "write");
  for (auto _ : state) {
    auto loaded = Check(
        FileContent::Load(file.fd(), Keys(), ContentLayout(kDefaultBlockSize), "bench"), "load");
    benchmark::DoNotOptimize(loaded.get());
  }
  state.SetItemsProcessed(state.iterations());
}

void SeqArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"block", "req"});
  for (int64_t bs : kBlockSizes) {
    for (int64_t req : kRequestSizes) b->Args({bs, req});
  }
  b->Unit(benchmark::kMillisecond);
  // Wall time: a verified read checks blocks on a second thread, whose CPU time the
  // default (the benchmark thread's CPU time) would leave out.
  b->UseRealTime();
}

// One Merkle leaf (SHA-256 of a stored block): the per-block cost of a verified read.
void BM_MerkleLeaf(benchmark::State& state) {
  const std::vector<uint8_t> block = Pattern(static_cast<size_t>(state.range(0)) + 28);
  for (auto _ : state) benchmark::DoNotOptimize(MerkleLeaf(block));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(block.size()));
}

void RandArgs(benchmark::internal::Benchmark* b) {
  b->ArgName("block");
  for (int64_t bs : kBlockSizes) b->Arg(bs);
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_SeqWrite)->Apply(SeqArgs);
BENCHMARK(BM_SeqRead)->Apply(SeqArgs);
BENCHMARK(BM_SeqReadVerified)->Apply(SeqArgs);
BENCHMARK(BM_MerkleLeaf)->ArgName("block")->Arg(16384)->Arg(65536);
BENCHMARK(BM_RandRead4K)->Apply(RandArgs);
BENCHMARK(BM_Load)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace modelvault::volume

BENCHMARK_MAIN();
