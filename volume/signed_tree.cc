// HashSignedTree (manifest.h): the signing side of a signed directory. VerifySignedTree is
// in signed_tree_verify.cc.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "base/file_util.h"
#include "base/unique_fd.h"
#include "crypto/hex.h"
#include "volume/manifest.h"
#include "volume/manifest_json.h"
#include "volume/tree_walk.h"

namespace modelvault::volume {
namespace {

using internal::Printable;

constexpr int kHashesDirMode = 0755;
constexpr int kHashesFileMode = 0444;
// Leaves are written in batches of this many bytes rather than one write per block.
constexpr size_t kLeafBatch = 64 * 1024;

// Writes .mvhashes/<file id> for each content file of the tree (through a temporary file
// and a rename, so a reader never sees half a list), and at the end removes the ones of
// files no longer in the tree.
class HashesWriter {
 public:
  static Result<HashesWriter> Open(int root_fd, const std::string& signed_dir) {
    std::string shown = signed_dir + "/" + kHashesDir;
    if (mkdirat(root_fd, kHashesDir, kHashesDirMode) != 0 && errno != EEXIST) {
      return Status::FromErrno(errno, "creating " + shown);
    }
    UniqueFd fd(openat(root_fd, kHashesDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return Status::FromErrno(errno, "opening " + shown);
    return HashesWriter(std::move(fd), signed_dir);
  }

  // The manifest entry of the content file `name` in `dirfd`, with its hashes written.
  Result<ManifestEntry> HashFile(int dirfd, const std::string& name, const std::string& path,
                                 const ContentLayout& layout, internal::ProgressMeter& meter) {
    std::string shown = root_shown_ + "/" + Printable(path);
    UniqueFd fd(openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) return Status::FromErrno(errno, "opening " + shown);
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, shown);
    if (!S_ISREG(st.st_mode)) return Status::IOError(shown + ": changed while being signed");
    ManifestEntry e;
    e.path = path;
    e.kind = ManifestEntry::Kind::kFile;
    e.size = static_cast<uint64_t>(st.st_size);
    // A file of 0 bytes has no header, hence no ID, and nothing for a reader to check.
    bool has_header = e.size >= kFileHeaderSize;
    std::string tmp = "tmp." + std::to_string(getpid());
    UniqueFd out;
    if (has_header) {
      unlinkat(dir_.get(), tmp.c_str(), 0);
      out.Reset(openat(dir_.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                       kHashesFileMode));
      if (!out.valid()) return Status::FromErrno(errno, "creating " + shown_ + "/" + tmp);
    }
    std::vector<uint8_t> batch;
    uint64_t written = 0;
    auto flush = [&]() -> Status {
      MV_RETURN_IF_ERROR(PwriteFull(out.get(), batch, written).Annotate(shown_ + "/" + tmp));
      written += batch.size();
      batch.clear();
      return Status::Ok();
    };
    Result<internal::ContentHash> hash = internal::HashContentFile(
        fd.get(), e.size, layout,
        [&](uint64_t, const crypto::Digest& leaf) -> Status {
          batch.insert(batch.end(), leaf.begin(), leaf.end());
          return batch.size() >= kLeafBatch ? flush() : Status::Ok();
        },
        meter);
    Status st_flush = hash.ok() && has_header ? flush() : Status::Ok();
    if (!hash.ok() || !st_flush.ok()) {
      if (has_header) unlinkat(dir_.get(), tmp.c_str(), 0);
      return (hash.ok() ? st_flush : hash.status()).Annotate(shown);
    }
    e.file_id = hash->file_id;
    e.blocks = hash->blocks;
    e.digest = hash->root;
    if (has_header) MV_RETURN_IF_ERROR(Publish(out.get(), tmp, e, shown));
    return e;
  }

  // Removes hash files of files no longer in the tree and makes the renames durable.
  Status Finish() {
    MV_ASSIGN_OR_RETURN(std::vector<std::string> names, internal::ListDir(dir_.get(), shown_));
    for (const std::string& name : names) {
      if (ids_.count(name) != 0) continue;
      if (unlinkat(dir_.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
        return Status::FromErrno(errno, "removing the stale " + shown_ + "/" + Printable(name));
      }
    }
    if (fsync(dir_.get()) != 0) return Status::FromErrno(errno, "syncing " + shown_);
    return Status::Ok();
  }

 private:
  struct Written {
    crypto::Digest root;
    std::string path;
  };

  HashesWriter(UniqueFd dir, const std::string& signed_dir)
      : dir_(std::move(dir)), shown_(signed_dir + "/" + kHashesDir), root_shown_(signed_dir) {}

  // Renames the finished temporary file to the file ID's name. Hard links (and identical
  // copies) share an ID and a hash list; two different files with one ID cannot both have
  // theirs, and a reader could not tell them apart, so signing refuses.
  Status Publish(int out_fd, const std::string& tmp, const ManifestEntry& e,
                 const std::string& shown) {
    std::string id = crypto::HexEncode(e.file_id.span());
    auto [it, inserted] = ids_.emplace(id, Written{e.digest, e.path});
    if (!inserted) {
      unlinkat(dir_.get(), tmp.c_str(), 0);
      if (it->second.root == e.digest) return Status::Ok();
      return Status::Corruption(shown + " and " + Printable(it->second.path) +
                                " have the same file ID " + id +
                                " but different contents; a file ID must be unique");
    }
    if (fsync(out_fd) != 0) return Status::FromErrno(errno, "syncing " + shown_ + "/" + tmp);
    if (renameat(dir_.get(), tmp.c_str(), dir_.get(), id.c_str()) != 0) {
      int err = errno;
      unlinkat(dir_.get(), tmp.c_str(), 0);
      return Status::FromErrno(err, "writing " + shown_ + "/" + id);
    }
    return Status::Ok();
  }

  UniqueFd dir_;
  std::string shown_;       // "<signed dir>/.mvhashes", for messages
  std::string root_shown_;  // "<signed dir>"
  std::map<std::string, Written> ids_;
};

}  // namespace

Result<std::vector<ManifestEntry>> HashSignedTree(const std::string& signed_dir,
                                                  uint32_t block_size, const ProgressFn& progress) {
  if (!IsValidBlockSize(block_size)) {
    return Status::InvalidArgument("invalid block size " + std::to_string(block_size));
  }
  ContentLayout layout(block_size);
  UniqueFd root(open(signed_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return Status::FromErrno(errno, "opening " + signed_dir);
  MV_ASSIGN_OR_RETURN(uint64_t total, internal::TotalFileBytes(root.get(), signed_dir));
  internal::ProgressMeter meter(progress, total);
  MV_ASSIGN_OR_RETURN(HashesWriter hashes, HashesWriter::Open(root.get(), signed_dir));
  std::vector<ManifestEntry> entries;
  auto visit = [&](int dirfd, const std::string& name, const std::string& path,
                   const struct stat& st) -> Result<bool> {
    std::string shown = signed_dir + "/" + Printable(path);
    if (!internal::IsValidEntryName(name)) {
      return Status::InvalidArgument(shown + ": not a name modelvault makes (printable ASCII " +
                                     "only); remove it from the backing directory");
    }
    // A nested .mvhashes would hold hash lists named like content files, and an inner
    // manifest could be re-signed under the outer one's signature: refuse nesting. Checked
    // before descending, since ".mvhashes" sorts before ".mvmanifest".
    struct stat inner;
    if (S_ISDIR(st.st_mode) &&
        fstatat(dirfd, (name + "/" + kManifestFile).c_str(), &inner, AT_SYMLINK_NOFOLLOW) == 0) {
      return Status::InvalidArgument(shown +
                                     " is itself a signed directory; signed directories "
                                     "cannot nest");
    }
    if (!internal::IsContentFile(name, st)) {
      Result<ManifestEntry> e = internal::ObserveNonContent(dirfd, name, path, st, meter);
      if (!e.ok()) return e.status().Annotate(signed_dir);
      entries.push_back(std::move(e).value());
      return true;
    }
    MV_ASSIGN_OR_RETURN(ManifestEntry e, hashes.HashFile(dirfd, name, path, layout, meter));
    entries.push_back(std::move(e));
    return true;
  };
  MV_RETURN_IF_ERROR(internal::WalkTree(root.get(), signed_dir, visit));
  MV_RETURN_IF_ERROR(hashes.Finish());
  meter.Finish();
  std::sort(entries.begin(), entries.end(),
            [](const ManifestEntry& a, const ManifestEntry& b) { return a.path < b.path; });
  return entries;
}

}  // namespace modelvault::volume
