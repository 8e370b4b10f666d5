#include "fs/signed_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "base/file_util.h"
#include "crypto/hex.h"
#include "fs/signed_tree.h"
#include "volume/dir_id.h"
#include "volume/name_codec.h"
#include "volume/rollback_state.h"

namespace modelvault::fs {
namespace {

using volume::ManifestEntry;

constexpr size_t kMaxManifestSize = 256 << 20;

// The entries of the backing tree below `dirfd` as the manifest records them: path, kind
// and size. The signed directory's own .mvmanifest, .mvhashes and .mvfrozen are left out.
Status ListTree(int dirfd, const std::string& prefix,
                std::map<std::string, std::pair<ManifestEntry::Kind, uint64_t>>* out) {
  UniqueFd dir(openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return Status::FromErrno(errno, "listing " + prefix);
  DIR* stream = fdopendir(dup(dir.get()));
  if (stream == nullptr) return Status::FromErrno(errno, "listing " + prefix);
  std::vector<std::string> names;
  while (dirent* e = readdir(stream)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (prefix.empty() && volume::IsSignedDirInternal(name)) continue;
    names.push_back(name);
  }
  closedir(stream);
  for (const std::string& name : names) {
    struct stat st;
    if (fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return Status::FromErrno(errno, "listing " + prefix + name);
    }
    std::string path = prefix + name;
    if (S_ISDIR(st.st_mode)) {
      (*out)[path] = {ManifestEntry::Kind::kDir, 0};
      UniqueFd sub(openat(dir.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.valid()) return Status::FromErrno(errno, "listing " + path);
      MV_RETURN_IF_ERROR(ListTree(sub.get(), path + "/", out));
    } else if (S_ISLNK(st.st_mode)) {
      (*out)[path] = {ManifestEntry::Kind::kSymlink, static_cast<uint64_t>(st.st_size)};
    } else {
      // As the signer records them: a content file is a regular file with an encoded name;
      // internal files and anything else (FIFOs, devices) are "other", of size 0 when not
      // regular.
      bool content = S_ISREG(st.st_mode) &&
                     volume::NameCodec::Classify(name) != volume::NameCodec::EntryKind::kInternal;
      (*out)[path] = {content ? ManifestEntry::Kind::kFile : ManifestEntry::Kind::kOther,
                      S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0};
    }
  }
  return Status::Ok();
}

}  // namespace

std::shared_ptr<SignedRoot> SignedRoot::Load(int dirfd, std::string path,
                                             const SignaturePolicy& policy) {
  UniqueFd own(openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::shared_ptr<SignedRoot> root(new SignedRoot(std::move(own), std::move(path)));
  root->status_ = root->Check(policy);
  return root;
}

Status SignedRoot::Check(const SignaturePolicy& policy) {
  const std::string where = "signed directory " + (path_.empty() ? "/" : path_);
  if (!dirfd_.valid()) return Status::IOError(where + ": cannot open its backing directory");
  UniqueFd file(openat(dirfd_.get(), volume::kManifestFile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!file.valid() && errno == ENOENT) {
    failure_ = "listing";
    return Status::Corruption(where +
                              ": its manifest is missing, but this host has accepted "
                              "one for it before");
  }
  if (!file.valid() || fstat(file.get(), &loaded_) != 0) {
    failure_ = "signature";
    return Status::FromErrno(errno, where + ": reading its manifest");
  }
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = read(file.get(), buf, sizeof(buf))) > 0) {
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxManifestSize) return Status::Corruption(where + ": manifest too large");
  }
  auto parsed = volume::Manifest::Parse(text, where + "/" + volume::kManifestFile);
  if (!parsed.ok()) {
    failure_ = "signature";
    return parsed.status();
  }
  manifest_ = std::move(parsed).value();
  if (crypto::HexEncode(manifest_.volume_id.span()) != policy.volume_hex ||
      manifest_.block_size != policy.block_size) {
    failure_ = "signature";
    return Status::Corruption(where + ": the manifest belongs to another store");
  }
  const std::string name = path_.substr(path_.rfind('/') + 1);  // "" for the store's root
  if (manifest_.directory != name) {
    failure_ = "listing";
    return Status::Corruption(
        where + ": the manifest was signed for another directory (" +
        (manifest_.directory.empty() ? "the store's root" : manifest_.directory) + ")");
  }
  Status signature = volume::VerifyManifestSignature(manifest_, policy.trusted);
  if (!signature.ok()) {
    failure_ = "signature";
    return signature.Annotate(where);
  }
  if (!policy.allow_rollback) {
    auto dir_id = volume::ReadDirId(dirfd_.get(), where);
    if (!dir_id.ok()) return dir_id.status();
    std::string key = volume::ManifestStateKey(manifest_.volume_id, *dir_id);
    std::string state =
        policy.state_file.empty() ? volume::DefaultRollbackStatePath() : policy.state_file;
    Status fresh =
        volume::CheckAndRecordVersion(state, key, manifest_.version, "the manifest of " + where);
    if (!fresh.ok()) {
      failure_ = "rollback";
      return fresh;
    }
  }
  Status listing = CheckListing();
  if (!listing.ok()) {
    failure_ = "listing";
    return listing.Annotate(where);
  }
  return Status::Ok();
}

bool SignedRoot::Stale() const {
  struct stat now;
  if (fstatat(dirfd_.get(), volume::kManifestFile, &now, AT_SYMLINK_NOFOLLOW) != 0) {
    return loaded_.st_ino != 0;
  }
  return now.st_ino != loaded_.st_ino || now.st_size != loaded_.st_size ||
         now.st_mtim.tv_sec != loaded_.st_mtim.tv_sec ||
         now.st_mtim.tv_nsec != loaded_.st_mtim.tv_nsec;
}

Status SignedRoot::CheckListing() const {
  std::map<std::string, std::pair<ManifestEntry::Kind, uint64_t>> found;
  MV_RETURN_IF_ERROR(ListTree(dirfd_.get(), "", &found));
  for (const auto& [path, what] : found) {
    const ManifestEntry* entry = manifest_.Find(path);
    if (entry == nullptr) return Status::Corruption(path + " is not in the manifest");
    if (entry->kind != what.first) return Status::Corruption(path + " is not what was signed");
    if (what.first != ManifestEntry::Kind::kDir && entry->size != what.second) {
      return Status::Corruption(path + " has another size than was signed");
    }
  }
  for (const ManifestEntry& entry : manifest_.entries) {
    if (found.count(entry.path) == 0) return Status::Corruption(entry.path + " is missing");
  }
  return Status::Ok();
}

Result<std::shared_ptr<const std::vector<crypto::Digest>>> SignedRoot::Leaves(
    const ManifestEntry& entry) {
  const std::string id = crypto::HexEncode(entry.file_id.span());
  {
    std::lock_guard lock(mu_);
    if (auto it = leaves_.find(id); it != leaves_.end()) {
      if (auto open = it->second.lock()) return open;
    }
  }
  const std::string name = std::string(volume::kHashesDir) + "/" + id;
  UniqueFd file(openat(dirfd_.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!file.valid()) return Status::Corruption(entry.path + ": its hash list is missing");
  auto leaves = std::make_shared<std::vector<crypto::Digest>>(entry.blocks);
  std::span<uint8_t> bytes(reinterpret_cast<uint8_t*>(leaves->data()),
                           leaves->size() * sizeof(crypto::Digest));
  MV_ASSIGN_OR_RETURN(size_t got, PreadFull(file.get(), bytes, 0));
  uint8_t extra;
  if (got != bytes.size() || pread(file.get(), &extra, 1, static_cast<off_t>(got)) != 0 ||
      volume::MerkleRoot(*leaves) != entry.digest) {
    return Status::Corruption(entry.path + ": its hash list does not match the manifest");
  }
  std::shared_ptr<const std::vector<crypto::Digest>> shared = std::move(leaves);
  std::lock_guard lock(mu_);
  std::erase_if(leaves_, [](const auto& kv) { return kv.second.expired(); });
  // Two first opens at once both load the list; either copy serves.
  leaves_[id] = shared;
  return shared;
}

}  // namespace modelvault::fs
