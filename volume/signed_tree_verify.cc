// VerifySignedTree (manifest.h): checks a signed directory's backing tree against its
// manifest with no key, hashing every block, for `modelvault verify` and backup checks.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>

#include "base/file_util.h"
#include "base/unique_fd.h"
#include "crypto/hex.h"
#include "volume/manifest.h"
#include "volume/manifest_json.h"
#include "volume/merkle_stream.h"
#include "volume/tree_walk.h"

namespace modelvault::volume {
namespace {

using internal::Printable;
using Kind = ManifestEntry::Kind;

constexpr size_t kLeafBatch = 64 * 1024;

std::string HashesName(const ManifestEntry& e) {
  return std::string(kHashesDir) + "/" + crypto::HexEncode(e.file_id.span());
}

// Reads a signed file's .mvhashes list alongside its blocks: the leaf of each block (to
// name the first block that differs) and, at the end, whether the whole list has the
// manifest's root. A list that is missing or of the wrong size is not read at all.
class HashesReader {
 public:
  HashesReader(int hashes_dir, const ManifestEntry& e) : entry_(e) {
    if (hashes_dir < 0) return;
    fd_.Reset(openat(hashes_dir, crypto::HexEncode(e.file_id.span()).c_str(),
                     O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st;
    if (!fd_.valid() || fstat(fd_.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      fd_.Reset();
      return;
    }
    sized_ = static_cast<uint64_t>(st.st_size) == e.blocks * sizeof(crypto::Digest);
  }

  // The listed leaf of block `index` (asked in order), if the list is usable and has one.
  std::optional<crypto::Digest> Leaf(uint64_t index) {
    while (Usable() && index >= tree_.count() && tree_.count() < entry_.blocks) ReadBatch();
    uint64_t batch_start = tree_.count() - batch_.size();
    if (!Usable() || index >= tree_.count() || index < batch_start) return std::nullopt;
    return batch_[index - batch_start];
  }

  // The problem with the list, or "" if it matches the signed root.
  std::string Finish() {
    std::string name = HashesName(entry_);
    if (!fd_.valid()) return name + " is missing";
    if (!sized_) {
      return name + " has the wrong size for " + std::to_string(entry_.blocks) + " blocks";
    }
    while (!failed_ && tree_.count() < entry_.blocks) ReadBatch();
    if (failed_ || tree_.Root() != entry_.digest) {
      return name + " does not match the signed Merkle root";
    }
    return "";
  }

 private:
  bool Usable() const { return fd_.valid() && sized_ && !failed_; }

  void ReadBatch() {
    uint64_t left = entry_.blocks - tree_.count();
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, kLeafBatch / sizeof(crypto::Digest)));
    batch_.resize(n);
    std::span<uint8_t> bytes(reinterpret_cast<uint8_t*>(batch_.data()), n * sizeof(crypto::Digest));
    Result<size_t> got = PreadFull(fd_.get(), bytes, tree_.count() * sizeof(crypto::Digest));
    if (!got.ok() || *got != bytes.size()) {
      failed_ = true;
      batch_.clear();
      return;
    }
    for (const crypto::Digest& d : batch_) tree_.Add(d);
  }

  const ManifestEntry& entry_;
  UniqueFd fd_;
  bool sized_ = false;
  bool failed_ = false;  // a read of the list failed or came up short
  std::vector<crypto::Digest> batch_;
  internal::MerkleStream tree_;
};

class TreeVerifier {
 public:
  TreeVerifier(const Manifest& m, int hashes_dir, internal::ProgressMeter& meter)
      : m_(m),
        layout_(m.block_size),
        hashes_dir_(hashes_dir),
        meter_(meter),
        seen_(m.entries.size(), false) {}

  Result<bool> Visit(int dirfd, const std::string& name, const std::string& path,
                     const struct stat& st) {
    const ManifestEntry* e = internal::IsValidEntryName(name) ? m_.Find(path) : nullptr;
    if (e == nullptr) {
      Problem(Printable(path), "not in the manifest");
      if (S_ISREG(st.st_mode)) meter_.Add(st.st_size);
      return false;
    }
    seen_[e - m_.entries.data()] = true;
    bool content = internal::IsContentFile(name, st);
    if (content && e->kind == Kind::kFile) {
      CheckFile(dirfd, name, *e);
      return false;
    }
    Result<ManifestEntry> got = content
                                    ? Result<ManifestEntry>(ManifestEntry{path})
                                    : internal::ObserveNonContent(dirfd, name, path, st, meter_);
    if (!got.ok()) {
      Problem(path, got.status().message());
      return false;
    }
    if (content) got->kind = Kind::kFile;
    if (got->kind != e->kind) {
      Problem(path, std::string("is a ") + internal::KindName(got->kind) + ", signed as a " +
                        internal::KindName(e->kind));
      if (S_ISREG(st.st_mode)) meter_.Add(st.st_size);
      return false;
    }
    if (got->size != e->size || got->digest != e->digest) {
      Problem(path, e->kind == Kind::kSymlink ? "link target differs from the signed one"
                                              : "content differs from the signed content");
    }
    return e->kind == Kind::kDir;
  }

  // Entries never visited, and hash lists no file of the manifest has.
  void Finish() {
    std::set<std::string> listed;
    for (size_t i = 0; i < m_.entries.size(); ++i) {
      const ManifestEntry& e = m_.entries[i];
      if (!seen_[i]) Problem(e.path, "missing");
      if (e.kind == Kind::kFile && e.size >= kFileHeaderSize) {
        listed.insert(crypto::HexEncode(e.file_id.span()));
      }
    }
    if (hashes_dir_ < 0) return;
    Result<std::vector<std::string>> names = internal::ListDir(hashes_dir_, kHashesDir);
    if (!names.ok()) return Problem(kHashesDir, names.status().message());
    for (const std::string& name : *names) {
      if (listed.count(name) == 0) {
        Problem(std::string(kHashesDir) + "/" + Printable(name), "not in the manifest");
      }
    }
  }

  void Problem(std::string path, std::string what) {
    problems_.push_back({std::move(path), std::move(what)});
  }
  std::vector<VerifyProblem> TakeProblems() { return std::move(problems_); }

 private:
  void CheckFile(int dirfd, const std::string& name, const ManifestEntry& e) {
    // A file of 0 bytes has no header and no hash list (signed_tree.cc).
    bool has_list = e.size >= kFileHeaderSize;
    HashesReader listed(has_list ? hashes_dir_ : -1, e);
    auto check_list = [&] {
      std::string problem = has_list ? listed.Finish() : "";
      if (!problem.empty()) Problem(e.path, problem);
      return problem.empty();
    };
    UniqueFd fd(openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st;
    if (!fd.valid() || fstat(fd.get(), &st) != 0) {
      Problem(e.path, std::string("cannot be read: ") + std::strerror(errno));
      check_list();
      return;
    }
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size != e.size) {
      Problem(e.path,
              "size is " + std::to_string(size) + " bytes, signed " + std::to_string(e.size));
    }
    // The first block whose leaf differs from the list's; past the list's end, the first
    // block added.
    std::optional<uint64_t> first_diff;
    Result<internal::ContentHash> got = internal::HashContentFile(
        fd.get(), size, layout_,
        [&](uint64_t i, const crypto::Digest& leaf) -> Status {
          if (!first_diff && listed.Leaf(i) != leaf) first_diff = i;
          return Status::Ok();
        },
        meter_);
    bool list_ok = check_list();
    if (!got.ok()) return Problem(e.path, got.status().message());
    if (got->file_id != e.file_id) {
      Problem(e.path, "file ID is " + crypto::HexEncode(got->file_id.span()) + ", signed " +
                          crypto::HexEncode(e.file_id.span()));
    }
    if (got->root == e.digest) return;
    if (!first_diff && got->blocks < e.blocks) first_diff = got->blocks;  // cut at a boundary
    bool located = first_diff && has_list && list_ok;
    Problem(e.path, "content differs from the signed content" +
                        (located ? " (block " + std::to_string(*first_diff) + ")" : ""));
  }

  const Manifest& m_;
  const ContentLayout layout_;
  const int hashes_dir_;
  internal::ProgressMeter& meter_;
  std::vector<bool> seen_;
  std::vector<VerifyProblem> problems_;
};

}  // namespace

Result<std::vector<VerifyProblem>> VerifySignedTree(const std::string& signed_dir,
                                                    const Manifest& manifest,
                                                    const ProgressFn& progress) {
  if (!IsValidBlockSize(manifest.block_size)) {
    return Status::InvalidArgument("the manifest's block size is not valid");
  }
  UniqueFd root(open(signed_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return Status::FromErrno(errno, "opening " + signed_dir);
  MV_ASSIGN_OR_RETURN(uint64_t total, internal::TotalFileBytes(root.get(), signed_dir));
  internal::ProgressMeter meter(progress, total);
  UniqueFd hashes(openat(root.get(), kHashesDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  int hashes_err = hashes.valid() ? 0 : errno;
  TreeVerifier verifier(manifest, hashes.get(), meter);
  if (hashes_err != 0 && hashes_err != ENOENT) {
    verifier.Problem(kHashesDir, std::string("cannot be opened: ") + std::strerror(hashes_err));
  }
  MV_RETURN_IF_ERROR(internal::WalkTree(
      root.get(), signed_dir,
      [&](int dirfd, const std::string& name, const std::string& path, const struct stat& st) {
        return verifier.Visit(dirfd, name, path, st);
      }));
  verifier.Finish();
  meter.Finish();
  std::vector<VerifyProblem> problems = verifier.TakeProblems();
  std::stable_sort(problems.begin(), problems.end(),
                   [](const VerifyProblem& a, const VerifyProblem& b) { return a.path < b.path; });
  return problems;
}

}  // namespace modelvault::volume
