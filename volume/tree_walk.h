// Internal to volume/: reading a signed directory's backing tree for HashSignedTree and
// VerifySignedTree (manifest.h). Everything goes through directory file descriptors with
// O_NOFOLLOW and fstatat(AT_SYMLINK_NOFOLLOW), so no symlink in the tree, including one
// swapped in while the walk runs, leads it outside. Reads ciphertext only; needs no key.
// Thread-compatible.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/hash.h"
#include "volume/content_layout.h"
#include "volume/manifest.h"

namespace modelvault::volume::internal {

// The names in the directory open as `dirfd`, sorted, without "." and ".."; `shown` names
// it in errors.
Result<std::vector<std::string>> ListDir(int dirfd, const std::string& shown);

// Reports progress to a ProgressFn in steps of a few MiB rather than per block.
class ProgressMeter {
 public:
  ProgressMeter(const ProgressFn& fn, uint64_t total) : fn_(fn), total_(total) {}
  void Add(uint64_t bytes);
  void Finish();  // reports done == total once, for a display to end on 100%

 private:
  const ProgressFn& fn_;
  uint64_t total_;
  uint64_t done_ = 0;
  uint64_t reported_ = 0;
};

// Called for every entry below the root (except the top-level names IsSignedDirInternal
// accepts), parents before children; `path` is relative to the root. Returns whether to
// descend into a directory.
using VisitFn = std::function<Result<bool>(int dirfd, const std::string& name,
                                           const std::string& path, const struct stat& st)>;
// `root_path` names the root in errors.
Status WalkTree(int root_fd, const std::string& root_path, const VisitFn& visit);

// Sum of the sizes of the regular files a WalkTree visits: the total for a ProgressMeter.
Result<uint64_t> TotalFileBytes(int root_fd, const std::string& root_path);

// What a regular file with an encoded (not internal) name is: a content file.
bool IsContentFile(const std::string& name, const struct stat& st);

// Hashes the content file open as `fd` (of `size` bytes): checks that its 32-byte header is
// the canonical version-1 header, so the file ID determines all of it, then hands the leaf
// hash of each block to `leaf` in order. Corruption for a header that is cut or not
// canonical, or a tail that cannot be a block; IOError if the file shrinks meanwhile. The
// messages do not name the file, which the caller knows.
struct ContentHash {
  FileId file_id;  // zeros for a backing file of 0 bytes, which has no header yet
  uint64_t blocks = 0;
  crypto::Digest root{};
};
using LeafFn = std::function<Status(uint64_t index, const crypto::Digest& leaf)>;
Result<ContentHash> HashContentFile(int fd, uint64_t size, const ContentLayout& layout,
                                    const LeafFn& leaf, ProgressMeter& meter);

// The manifest entry of anything but a content file: a directory, a symlink (digest of its
// target), an internal file (digest of its contents, at most 1 MiB) or a special file
// (digest of its type and device number). `path` is the entry's path.
Result<ManifestEntry> ObserveNonContent(int dirfd, const std::string& name, const std::string& path,
                                        const struct stat& st, ProgressMeter& meter);

// `name` with bytes outside printable ASCII written as \xNN, for messages.
std::string Printable(std::string_view name);

}  // namespace modelvault::volume::internal
