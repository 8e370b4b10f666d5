#include "volume/file_content.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "base/file_util.h"
#include "base/log.h"
#include "base/parallel_parts.h"
#include "crypto/random.h"

namespace modelvault::volume {
namespace {

constexpr uint8_t kMagic[4] = {'M', 'V', 'F', 'C'};
constexpr uint16_t kContentVersion = 1;
constexpr size_t kAadSize = 24;
// Zero-filling a gap goes in pieces of this size so a huge gap needs no huge buffer.
constexpr uint64_t kZeroChunk = 1 << 20;

// Scratch buffers reused by each thread, so the read and write paths allocate only when a
// request is larger than any before it on that thread.
std::vector<uint8_t>& CipherScratch() {
  thread_local std::vector<uint8_t> buf;
  return buf;
}
std::vector<uint8_t>& PlainScratch() {
  thread_local std::vector<uint8_t> buf;
  return buf;
}
std::span<uint8_t> Sized(std::vector<uint8_t>& buf, size_t size) {
  if (buf.size() < size) buf.resize(size);
  return {buf.data(), size};
}

void PutBe64(uint8_t* out, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<uint8_t>(v);
}

std::array<uint8_t, kAadSize> BlockAad(const FileId& id, uint64_t index) {
  std::array<uint8_t, kAadSize> aad{};
  std::memcpy(aad.data(), id.bytes.data(), id.bytes.size());
  PutBe64(aad.data() + 16, index);
  return aad;
}

Result<uint64_t> BackingSize(int fd, const std::string& name) {
  struct stat st;
  if (fstat(fd, &st) != 0) return Status::FromErrno(errno, name);
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace

Result<std::unique_ptr<FileContent>> FileContent::Load(int fd,
                                                       std::shared_ptr<const VolumeKeys> keys,
                                                       ContentLayout layout, std::string name) {
  std::unique_ptr<FileContent> fc(new FileContent(std::move(keys), layout, std::move(name)));
  MV_ASSIGN_OR_RETURN(uint64_t size, BackingSize(fd, fc->name_));
  if (size == 0) return fc;  // created but never written: the header comes with the first write
  uint8_t header[kFileHeaderSize];
  MV_ASSIGN_OR_RETURN(size_t n, PreadFull(fd, header, 0));
  if (n < kFileHeaderSize) {
    return Status::Corruption(fc->name_ + ": file header is cut short (" + std::to_string(n) +
                              " bytes)");
  }
  if (std::memcmp(header, kMagic, sizeof(kMagic)) != 0) {
    return Status::Corruption(fc->name_ + ": not a modelvault file (bad magic)");
  }
  uint16_t version = static_cast<uint16_t>(header[4] << 8 | header[5]);
  if (version != kContentVersion) {
    return Status::Corruption(fc->name_ + ": unsupported file format version " +
                              std::to_string(version));
  }
  // Reserved bytes and the key epoch (only epoch 0 exists) must be zero; anything else is a
  // file from a newer format or a damaged one, and is refused rather than guessed at.
  for (size_t i = 6; i < 16; ++i) {
    if (header[i] != 0) {
      return Status::Corruption(fc->name_ + ": file header has unknown flags or key epoch");
    }
  }
  FileId id;
  std::memcpy(id.bytes.data(), header + 16, id.bytes.size());
  MV_ASSIGN_OR_RETURN(auto cipher, fc->keys_->ContentCipher(id));
  fc->file_id_ = id;
  fc->cipher_.emplace(std::move(cipher));
  return fc;
}

Result<std::unique_ptr<FileContent>> FileContent::Create(int fd,
                                                         std::shared_ptr<const VolumeKeys> keys,
                                                         ContentLayout layout, std::string name) {
  std::unique_ptr<FileContent> fc(new FileContent(std::move(keys), layout, std::move(name)));
  MV_RETURN_IF_ERROR(fc->EnsureHeader(fd));
  return fc;
}

Status FileContent::EnsureHeader(int fd) {
  if (file_id_) return Status::Ok();
  MV_ASSIGN_OR_RETURN(FileId id, NewFileId());
  uint8_t header[kFileHeaderSize] = {};
  std::memcpy(header, kMagic, sizeof(kMagic));
  header[4] = kContentVersion >> 8;
  header[5] = kContentVersion & 0xff;
  std::memcpy(header + 16, id.bytes.data(), id.bytes.size());
  MV_ASSIGN_OR_RETURN(auto cipher, keys_->ContentCipher(id));
  MV_RETURN_IF_ERROR(PwriteFull(fd, header, 0).Annotate(name_));
  file_id_ = id;
  cipher_.emplace(std::move(cipher));
  return Status::Ok();
}

Status FileContent::Corrupt(uint64_t block, std::string_view what) const {
  std::string msg = name_ + ": block " + std::to_string(block) + " " + std::string(what);
  LogError(msg);
  return Status::Corruption(msg);
}

Result<uint64_t> FileContent::Size(int fd) const {
  MV_ASSIGN_OR_RETURN(uint64_t backing, BackingSize(fd, name_));
  return layout_.PlainSize(backing);
}

// A request is split into parts of at least this many blocks' bytes: below it, handing a
// part to another thread costs more than decrypting it.
constexpr uint64_t kMinPartBytes = 128 << 10;

// Reads the stored blocks [first, first + count) in one pread and decrypts the plaintext
// range [skip, skip + out.size()) of them into `out`. Large requests are split into
// contiguous parts read on several threads (base/parallel_parts.h); each part reads, checks
// and decrypts its own blocks, so a block is hashed and decrypted while it is in that
// core's cache.
Status FileContent::ReadBlocks(int fd, uint64_t backing, uint64_t first, uint64_t count,
                               uint64_t skip, std::span<uint8_t> out,
                               const BlockCheck& check) const {
  const uint64_t bs = layout_.block_size();
  uint64_t parts = std::min({uint64_t{base::ParallelWidth()}, count, count * bs / kMinPartBytes});
  if (parts <= 1) return ReadPart(fd, backing, first, count, skip, out, check);
  return base::RunInParts(parts, [&](size_t part) {
    uint64_t begin = count * part / parts;  // blocks [begin, end) of the request
    uint64_t end = count * (part + 1) / parts;
    // The part's plaintext in `out`: the request starts `skip` bytes into its first block.
    uint64_t from = begin == 0 ? 0 : begin * bs - skip;
    uint64_t to = std::min<uint64_t>(out.size(), end * bs - skip);
    if (from >= to) return Status::Ok();
    return ReadPart(fd, backing, first + begin, end - begin, begin == 0 ? skip : 0,
                    out.subspan(from, to - from), check);
  });
}

// ReadBlocks() on the calling thread. Whole blocks are decrypted in place; only a partially
// wanted block goes through a scratch buffer.
Status FileContent::ReadPart(int fd, uint64_t backing, uint64_t first, uint64_t count,
                             uint64_t skip, std::span<uint8_t> out, const BlockCheck& check) const {
  const uint64_t sbs = layout_.stored_block_size();
  const uint64_t bs = layout_.block_size();
  uint64_t start = layout_.BlockOffset(first);
  uint64_t want = std::min(count * sbs, backing > start ? backing - start : 0);
  auto cipher = Sized(CipherScratch(), want);
  MV_ASSIGN_OR_RETURN(size_t got, PreadFull(fd, cipher, start));
  uint64_t pos = 0;  // position in `out`
  for (uint64_t k = 0; k < count && pos < out.size(); ++k) {
    uint64_t index = first + k;
    uint64_t at = k * sbs;
    if (at + kBlockOverhead >= got) return Corrupt(index, "is missing or cut short");
    uint64_t plain_len = std::min(sbs, got - at) - kBlockOverhead;
    if (plain_len < bs && k + 1 < count) return Corrupt(index, "is cut short");
    uint64_t from = (k == 0) ? skip : 0;
    if (from >= plain_len) return Corrupt(index, "is cut short");
    // A block that fails the check is never decrypted: its plaintext goes nowhere.
    if (check) MV_RETURN_IF_ERROR(check(index, cipher.subspan(at, plain_len + kBlockOverhead)));
    uint64_t take = std::min(plain_len - from, out.size() - pos);
    auto aad = BlockAad(*file_id_, index);
    auto nonce = cipher.subspan(at, kNonceSize);
    auto body = cipher.subspan(at + kNonceSize, plain_len);
    auto tag = cipher.subspan(at + kNonceSize + plain_len, kTagSize);
    bool whole = from == 0 && take == plain_len;
    auto dest = whole ? out.subspan(pos, take) : Sized(PlainScratch(), plain_len);
    Status st = cipher_->Open(dest, nonce, aad, body, tag);
    if (!st.ok()) return Corrupt(index, "failed authentication");
    if (!whole) std::memcpy(out.data() + pos, dest.data() + from, take);
    pos += take;
  }
  if (pos != out.size()) return Corrupt(first + count - 1, "is cut short");
  return Status::Ok();
}

Result<size_t> FileContent::Read(int fd, std::span<uint8_t> out, uint64_t offset,
                                 const BlockCheck& check) const {
  MV_ASSIGN_OR_RETURN(uint64_t backing, BackingSize(fd, name_));
  uint64_t size = layout_.PlainSize(backing);
  const uint64_t bs = layout_.block_size();
  if (offset >= size || out.empty()) {
    if (!layout_.TailIsValid(backing) && !out.empty()) {
      return Corrupt(size / bs, "is cut short (the file ends inside a block)");
    }
    return size_t{0};
  }
  if (!file_id_) return Status::Corruption(name_ + ": file has content but no header");
  uint64_t n = std::min<uint64_t>(out.size(), size - offset);
  uint64_t first = offset / bs;
  uint64_t last = (offset + n - 1) / bs;
  MV_RETURN_IF_ERROR(
      ReadBlocks(fd, backing, first, last - first + 1, offset - first * bs, out.first(n), check));
  if (offset + n == size && !layout_.TailIsValid(backing)) {
    return Corrupt(last + 1, "is cut short (the file ends inside a block)");
  }
  return static_cast<size_t>(n);
}

// Encrypts `plain` as blocks first, first+1, ... (the last one may be short) and stores
// them with a single pwrite.
Status FileContent::WriteBlocks(int fd, uint64_t first, std::span<const uint8_t> plain) {
  const uint64_t bs = layout_.block_size();
  uint64_t blocks = (plain.size() + bs - 1) / bs;
  auto out = Sized(CipherScratch(), blocks * kBlockOverhead + plain.size());
  for (uint64_t k = 0; k < blocks; ++k) {
    uint64_t len = std::min<uint64_t>(bs, plain.size() - k * bs);
    auto slot = out.subspan(k * layout_.stored_block_size(), len + kBlockOverhead);
    auto aad = BlockAad(*file_id_, first + k);
    MV_RETURN_IF_ERROR(crypto::RandomBytes(slot.first(kNonceSize)));
    MV_RETURN_IF_ERROR(cipher_->Seal(slot.subspan(kNonceSize, len), slot.last(kTagSize),
                                     slot.first(kNonceSize), aad, plain.subspan(k * bs, len)));
  }
  uint64_t at = layout_.BlockOffset(first);
  // Space is reserved before anything is overwritten: running out of it then fails the
  // request while every stored block is still intact, instead of tearing the re-sealed
  // last block halfway.
  if (fallocate(fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(at), static_cast<off_t>(out.size())) !=
          0 &&
      errno != EOPNOTSUPP) {
    return Status::FromErrno(errno, name_);
  }
  return PwriteFull(fd, out, at).Annotate(name_);
}

// Writes `in` at `offset` <= `size` (the current plaintext size). Only the first and last
// touched blocks are read back, and only when the write covers them partly.
Status FileContent::WriteAt(int fd, std::span<const uint8_t> in, uint64_t offset, uint64_t size) {
  const uint64_t bs = layout_.block_size();
  uint64_t end = offset + in.size();
  uint64_t first = offset / bs;
  uint64_t last = (end - 1) / bs;
  uint64_t span_start = first * bs;
  uint64_t span_end = std::min(std::max(end, size), (last + 1) * bs);
  const uint64_t backing = layout_.BackingSize(size);
  // Not PlainScratch(): ReadBlocks() uses that for the partial blocks it merges from.
  thread_local std::vector<uint8_t> merged;
  auto buf = Sized(merged, span_end - span_start);
  if (offset > span_start) {
    uint64_t len = std::min(size, span_start + bs) - span_start;
    MV_RETURN_IF_ERROR(ReadBlocks(fd, backing, first, 1, 0, buf.first(len), {}));
  }
  uint64_t last_start = last * bs;
  if (end < span_end && (last != first || offset == span_start)) {
    MV_RETURN_IF_ERROR(ReadBlocks(fd, backing, last, 1, 0,
                                  buf.subspan(last_start - span_start, span_end - last_start), {}));
  }
  std::memcpy(buf.data() + (offset - span_start), in.data(), in.size());
  return WriteBlocks(fd, first, buf);
}

Status FileContent::ZeroFill(int fd, uint64_t from, uint64_t to) {
  static const std::vector<uint8_t> zeros(kZeroChunk, 0);
  while (from < to) {
    // Chunks end on block boundaries so each block is encrypted exactly once.
    uint64_t chunk_end = std::min(to, (from / kZeroChunk + 1) * kZeroChunk);
    MV_RETURN_IF_ERROR(
        WriteAt(fd, std::span<const uint8_t>(zeros).first(chunk_end - from), from, from));
    from = chunk_end;
  }
  return Status::Ok();
}

Status FileContent::CheckSize(uint64_t size) const {
  // The backing size must stay a valid off_t; the backing filesystem may set a lower limit.
  constexpr uint64_t kMaxBacking = uint64_t{1} << 62;
  if (size > kMaxBacking / 2 || layout_.BackingSize(size) > kMaxBacking) {
    return Status::FromErrno(EFBIG, name_);
  }
  return Status::Ok();
}

// Grows the file with zeros; if that fails part way (say the disk fills up), the file is
// cut back to its old size so a failed request changes nothing.
Status FileContent::Grow(int fd, uint64_t from, uint64_t to) {
  Status st = ZeroFill(fd, from, to);
  if (!st.ok()) (void)Truncate(fd, from);
  return st;
}

Status FileContent::Write(int fd, std::span<const uint8_t> in, uint64_t offset) {
  if (in.empty()) return Status::Ok();
  MV_RETURN_IF_ERROR(CheckSize(offset + in.size()));
  MV_RETURN_IF_ERROR(EnsureHeader(fd));
  MV_ASSIGN_OR_RETURN(uint64_t size, Size(fd));
  if (offset > size) {
    MV_RETURN_IF_ERROR(Grow(fd, size, offset));
    size = offset;
  }
  return WriteAt(fd, in, offset, size);
}

Status FileContent::Truncate(int fd, uint64_t new_size) {
  MV_RETURN_IF_ERROR(CheckSize(new_size));
  MV_ASSIGN_OR_RETURN(uint64_t backing, BackingSize(fd, name_));
  uint64_t size = layout_.PlainSize(backing);
  if (new_size == size) {
    // Still a truncate: like ftruncate(2) it marks the file changed (mtime and ctime).
    if (ftruncate(fd, static_cast<off_t>(backing)) != 0) {
      return Status::FromErrno(errno, "truncating " + name_);
    }
    return Status::Ok();
  }
  MV_RETURN_IF_ERROR(EnsureHeader(fd));
  if (new_size > size) return Grow(fd, size, new_size);
  const uint64_t bs = layout_.block_size();
  if (new_size % bs != 0) {
    // The new last block keeps a prefix of the old one and is sealed again at its new length.
    uint64_t last = new_size / bs;
    uint64_t keep = new_size - last * bs;
    thread_local std::vector<uint8_t> block;
    auto buf = Sized(block, keep);
    MV_RETURN_IF_ERROR(ReadBlocks(fd, backing, last, 1, 0, buf, {}));
    MV_RETURN_IF_ERROR(WriteBlocks(fd, last, buf));
  }
  if (ftruncate(fd, static_cast<off_t>(layout_.BackingSize(new_size))) != 0) {
    return Status::FromErrno(errno, "truncating " + name_);
  }
  return Status::Ok();
}

}  // namespace modelvault::volume
