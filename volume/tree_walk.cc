#include "volume/tree_walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "base/file_util.h"
#include "base/parallel_parts.h"
#include "base/unique_fd.h"
#include "volume/manifest.h"
#include "volume/manifest_json.h"
#include "volume/merkle_stream.h"
#include "volume/name_codec.h"

namespace modelvault::volume::internal {
namespace {

// The canonical version-1 file header is "MVFC", version 1 (u16 BE), ten zero bytes, then
// the file ID (docs/FORMAT.md, "File header"). The manifest signs only the ID, so every
// other header byte must have its one valid value for the signature to cover all 32.
constexpr uint8_t kHeaderPrefix[16] = {'M', 'V', 'F', 'C', 0, 1};
// Internal files are IDs and encoded names, a few hundred bytes; a bound keeps a stray
// large file from being read into memory whole.
constexpr uint64_t kMaxInternalFile = 1 << 20;
constexpr uint64_t kProgressStep = 4 << 20;
// Content files are hashed in chunks of this many bytes, each split over the host's cores
// (base/parallel_parts.h) in parts of at least kMinHashPartBytes: hashing is nearly all
// the work of signing and verifying, and one core hashes only about 1.7 GB/s.
constexpr uint64_t kHashChunkBytes = 8 << 20;
constexpr uint64_t kMinHashPartBytes = 128 << 10;

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

}  // namespace

Result<std::vector<std::string>> ListDir(int dirfd, const std::string& shown) {
  int dup_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return Status::FromErrno(errno, "listing " + shown);
  std::unique_ptr<DIR, DirCloser> dir(fdopendir(dup_fd));
  if (!dir) {
    int err = errno;
    close(dup_fd);
    return Status::FromErrno(err, "listing " + shown);
  }
  rewinddir(dir.get());  // the duplicate shares its offset with dirfd
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* de = readdir(dir.get())) {
    std::string_view name = de->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  if (errno != 0) return Status::FromErrno(errno, "listing " + shown);
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

Status WalkDir(int dirfd, const std::string& prefix, const std::string& shown,
               const VisitFn& visit) {
  MV_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dirfd, shown));
  for (const std::string& name : names) {
    if (prefix.empty() && volume::IsSignedDirInternal(name)) continue;
    std::string shown_entry = shown + "/" + Printable(name);
    struct stat st;
    if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed since the listing: as if never there
      return Status::FromErrno(errno, shown_entry);
    }
    std::string path = prefix.empty() ? name : prefix + "/" + name;
    MV_ASSIGN_OR_RETURN(bool descend, visit(dirfd, name, path, st));
    if (!descend || !S_ISDIR(st.st_mode)) continue;
    UniqueFd sub(openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub.valid()) return Status::FromErrno(errno, "opening " + shown_entry);
    MV_RETURN_IF_ERROR(WalkDir(sub.get(), path, shown_entry, visit));
  }
  return Status::Ok();
}

std::string SpecialLabel(const struct stat& st) {
  std::string dev = std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
  if (S_ISFIFO(st.st_mode)) return "fifo";
  if (S_ISSOCK(st.st_mode)) return "socket";
  if (S_ISCHR(st.st_mode)) return "char " + dev;
  if (S_ISBLK(st.st_mode)) return "block " + dev;
  return "unknown";
}

crypto::Digest DigestOf(std::string_view text) {
  return crypto::Sha256({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

Result<std::vector<uint8_t>> ReadInternalFile(int dirfd, const std::string& name,
                                              const std::string& path) {
  UniqueFd fd(openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, path);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, path);
  if (!S_ISREG(st.st_mode)) return Status::IOError(path + ": changed while being read");
  if (static_cast<uint64_t>(st.st_size) > kMaxInternalFile) {
    return Status::Corruption(path + ": an internal file larger than 1 MiB (not modelvault's)");
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  MV_ASSIGN_OR_RETURN(size_t n, PreadFull(fd.get(), bytes, 0));
  if (n != bytes.size()) return Status::IOError(path + ": changed while being read");
  return bytes;
}

}  // namespace

void ProgressMeter::Add(uint64_t bytes) {
  done_ += bytes;
  if (fn_ && done_ - reported_ >= kProgressStep) {
    reported_ = done_;
    fn_(std::min(done_, total_), total_);
  }
}

void ProgressMeter::Finish() {
  if (fn_) fn_(total_, total_);
}

Status WalkTree(int root_fd, const std::string& root_path, const VisitFn& visit) {
  return WalkDir(root_fd, "", root_path, visit);
}

Result<uint64_t> TotalFileBytes(int root_fd, const std::string& root_path) {
  uint64_t total = 0;
  MV_RETURN_IF_ERROR(WalkTree(
      root_fd, root_path,
      [&](int, const std::string&, const std::string&, const struct stat& st) -> Result<bool> {
        if (S_ISREG(st.st_mode)) total += st.st_size;
        return true;
      }));
  return total;
}

bool IsContentFile(const std::string& name, const struct stat& st) {
  return S_ISREG(st.st_mode) && NameCodec::Classify(name) != NameCodec::EntryKind::kInternal;
}

Result<ContentHash> HashContentFile(int fd, uint64_t size, const ContentLayout& layout,
                                    const LeafFn& leaf, ProgressMeter& meter) {
  ContentHash out;
  if (size == 0) {
    out.root = MerkleRoot({});
    return out;
  }
  if (size < kFileHeaderSize) {
    return Status::Corruption("file header is cut short (" + std::to_string(size) + " bytes)");
  }
  uint8_t header[kFileHeaderSize];
  MV_ASSIGN_OR_RETURN(size_t got, PreadFull(fd, header, 0));
  if (got != kFileHeaderSize) return Status::IOError("changed while being read");
  if (!std::equal(header, header + sizeof(kHeaderPrefix), kHeaderPrefix)) {
    return Status::Corruption("not a modelvault version-1 file header");
  }
  std::copy(header + sizeof(kHeaderPrefix), header + kFileHeaderSize, out.file_id.bytes.begin());
  int64_t blocks = BlockCount(layout, size);
  if (blocks < 0) return Status::Corruption("ends inside a block (the file was cut)");
  meter.Add(kFileHeaderSize);
  const uint64_t total = static_cast<uint64_t>(blocks);
  const uint64_t sbs = layout.stored_block_size();
  const uint64_t per_chunk = std::max<uint64_t>(1, kHashChunkBytes / sbs);
  std::vector<uint8_t> buf(std::min(total, per_chunk) * sbs);
  std::vector<crypto::Digest> digests(std::min(total, per_chunk));
  MerkleStream tree;
  for (uint64_t first = 0; first < total; first += per_chunk) {
    const uint64_t count = std::min(per_chunk, total - first);
    const uint64_t chunk_end = std::min(layout.BlockOffset(first + count), size);
    const uint64_t chunk_start = layout.BlockOffset(first);
    const uint64_t parts =
        std::max<uint64_t>(1, std::min<uint64_t>({base::ParallelWidth(), count,
                                                  (chunk_end - chunk_start) / kMinHashPartBytes}));
    // Each part reads its own blocks in one pread and hashes them where they landed.
    MV_RETURN_IF_ERROR(base::RunInParts(parts, [&](size_t part) {
      const uint64_t begin = count * part / parts;
      const uint64_t end = count * (part + 1) / parts;
      if (begin == end) return Status::Ok();
      const uint64_t from = layout.BlockOffset(first + begin);
      const uint64_t to = std::min(layout.BlockOffset(first + end), size);
      std::span<uint8_t> bytes(buf.data() + begin * sbs, to - from);
      MV_ASSIGN_OR_RETURN(size_t read, PreadFull(fd, bytes, from));
      if (read != bytes.size()) return Status::IOError("changed while being read");
      for (uint64_t k = begin; k < end; ++k) {
        uint64_t at = (k - begin) * sbs;
        digests[k] = MerkleLeaf(bytes.subspan(at, std::min<uint64_t>(sbs, bytes.size() - at)));
      }
      return Status::Ok();
    }));
    for (uint64_t k = 0; k < count; ++k) {
      MV_RETURN_IF_ERROR(leaf(first + k, digests[k]));
      tree.Add(digests[k]);
    }
    meter.Add(chunk_end - chunk_start);
  }
  out.blocks = static_cast<uint64_t>(blocks);
  out.root = tree.Root();
  return out;
}

Result<ManifestEntry> ObserveNonContent(int dirfd, const std::string& name, const std::string& path,
                                        const struct stat& st, ProgressMeter& meter) {
  ManifestEntry e;
  e.path = path;
  if (S_ISDIR(st.st_mode)) {
    e.kind = ManifestEntry::Kind::kDir;
    return e;
  }
  if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX + 1];
    ssize_t n = readlinkat(dirfd, name.c_str(), target, sizeof(target));
    if (n < 0) return Status::FromErrno(errno, "reading the link " + Printable(path));
    e.kind = ManifestEntry::Kind::kSymlink;
    e.size = static_cast<uint64_t>(n);
    e.digest = DigestOf({target, static_cast<size_t>(n)});
    return e;
  }
  e.kind = ManifestEntry::Kind::kOther;
  if (S_ISREG(st.st_mode)) {
    MV_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadInternalFile(dirfd, name, Printable(path)));
    meter.Add(bytes.size());
    e.size = bytes.size();
    e.digest = crypto::Sha256(bytes);
    return e;
  }
  // FIFOs, sockets and devices have no content; their type and device number are what a
  // swap would change.
  e.digest = DigestOf(SpecialLabel(st));
  return e;
}

std::string Printable(std::string_view name) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : name) {
    auto b = static_cast<uint8_t>(c);
    if (b >= 0x20 && b < 0x7f && b != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
  return out;
}

}  // namespace modelvault::volume::internal
