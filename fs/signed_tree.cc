#include "fs/signed_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "crypto/ecdsa_p256.h"
#include "crypto/ed25519.h"
#include "crypto/hex.h"
#include "crypto/random.h"
#include "fs/signed_root.h"
#include "volume/dir_id.h"
#include "volume/rollback_state.h"

namespace modelvault::fs {
namespace {

bool Exists(int dirfd, const char* name) {
  struct stat st;
  return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

// Reads a manifest without checking who signed it: unfreezing needs only its key.
Result<volume::Manifest> ReadManifest(int dirfd) {
  UniqueFd file(openat(dirfd, volume::kManifestFile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!file.valid()) return Status::FromErrno(errno, volume::kManifestFile);
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = read(file.get(), buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
  return volume::Manifest::Parse(text, volume::kManifestFile);
}

Status VerifyWith(const volume::Manifest& m, std::span<const uint8_t> message,
                  std::span<const uint8_t> signature) {
  if (m.algorithm == "ed25519") return crypto::Ed25519Verify(m.public_key, message, signature);
  if (m.algorithm == "ecdsa-p256-sha256") {
    return crypto::EcdsaP256Verify(m.public_key, message, signature);
  }
  return Status::Unsupported("signature algorithm " + m.algorithm);
}

}  // namespace

Status FileVerifier::CheckBlock(uint64_t index, std::span<const uint8_t> stored) const {
  if (index < leaves_->size() && volume::MerkleLeaf(stored) == (*leaves_)[index]) {
    return Status::Ok();
  }
  std::string detail = path_ + ": block " + std::to_string(index) + " is not the signed block";
  if (on_failure_) on_failure_("block", dir_, detail);
  return Status::Corruption("signed directory " + dir_ + ": " + detail);
}

bool SignedTree::Remembered(int dirfd) {
  auto dir_id = volume::ReadDirId(dirfd, "directory");
  if (!dir_id.ok()) return false;
  auto volume_id = crypto::HexDecode(policy_.volume_hex);
  if (!volume_id.ok() || volume_id->size() != 16) return false;
  volume::VolumeId volume;
  std::copy(volume_id->begin(), volume_id->end(), volume.bytes.begin());
  std::string state =
      policy_.state_file.empty() ? volume::DefaultRollbackStatePath() : policy_.state_file;
  auto seen = volume::SeenVersion(state, volume::ManifestStateKey(volume, *dir_id));
  return seen.ok() && *seen > 0;
}

void SignedTree::Refresh(DirNode& node, int dirfd) {
  bool frozen = Exists(dirfd, volume::kFrozenMarker);
  bool manifest = Exists(dirfd, volume::kManifestFile);
  // Only a reader that checks signatures asks its memory (one state file read per
  // directory without a manifest).
  bool was_signed = !manifest && !policy_.trusted.empty() && Remembered(dirfd);
  std::lock_guard lock(mu_);
  node.frozen = frozen;
  node.has_manifest = manifest;
  node.was_signed = was_signed;
  node.root.reset();  // loaded again on the next open
  if ((frozen || manifest || was_signed) && !node.dirfd.valid()) {
    node.dirfd.Reset(openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
}

std::shared_ptr<DirNode> SignedTree::NewNode(const std::shared_ptr<DirNode>& parent,
                                             std::string name, bool is_dir, int fd) {
  auto node = std::make_shared<DirNode>();
  node->parent = parent;
  node->name = std::move(name);
  node->is_dir = is_dir;
  if (is_dir) Refresh(*node, fd);
  return node;
}

void SignedTree::Relink(DirNode& node, const std::shared_ptr<DirNode>& parent, std::string name) {
  std::lock_guard lock(mu_);
  if (node.parent == parent && node.name == name) return;
  // Never below itself: with every move followed that cannot happen, but a cycle would
  // hang every walk up the tree, so a link that would close one is not made.
  for (const DirNode* n = parent.get(); n != nullptr; n = n->parent.get()) {
    if (n == &node) return;
  }
  node.parent = parent;
  node.name = std::move(name);
}

void SignedTree::Revisit(DirNode& node, int fd) {
  if (!node.is_dir) return;
  bool frozen = Exists(fd, volume::kFrozenMarker);
  bool manifest = Exists(fd, volume::kManifestFile);
  if (frozen != node.frozen || manifest != node.has_manifest) Refresh(node, fd);
}

bool SignedTree::IsUnder(const DirNode& node, const DirNode& ancestor) const {
  std::lock_guard lock(mu_);
  for (const DirNode* n = &node; n != nullptr; n = n->parent.get()) {
    if (n == &ancestor) return true;
  }
  return false;
}

bool SignedTree::Frozen(const DirNode& node) const {
  std::lock_guard lock(mu_);
  for (const DirNode* n = &node; n != nullptr; n = n->parent.get()) {
    if (n->frozen) return true;
  }
  return false;
}

std::string SignedTree::BackingPath(const DirNode& node) const {
  std::lock_guard lock(mu_);
  std::string path;
  for (const DirNode* n = &node; n != nullptr && n->parent != nullptr; n = n->parent.get()) {
    path = n->name + (path.empty() ? "" : "/") + path;
  }
  return path;
}

std::shared_ptr<SignedRoot> SignedTree::RootOf(const DirNode& node, std::string* relative) {
  std::lock_guard lock(mu_);
  std::string rel;
  for (const DirNode* n = &node; n != nullptr; n = n->parent.get()) {
    if (n->is_dir && (n->has_manifest || n->was_signed) && n->dirfd.valid()) {
      auto* dir = const_cast<DirNode*>(n);
      // A manifest replaced since it was loaded (a publisher signed a new version beside a
      // read-only reader) is loaded again.
      if (dir->root && dir->root->Stale()) dir->root.reset();
      if (!dir->root) {
        std::string path;
        for (const DirNode* p = n; p != nullptr && p->parent != nullptr; p = p->parent.get()) {
          path = p->name + (path.empty() ? "" : "/") + path;
        }
        dir->root = SignedRoot::Load(n->dirfd.get(), path, policy_);
        std::erase_if(loaded_, [](const auto& weak) { return weak.expired(); });
        loaded_.push_back(dir->root);
        if (!dir->root->status().ok() && on_failure_) {
          on_failure_(dir->root->failure(), path, dir->root->status().message());
        }
      }
      *relative = rel;
      return dir->root;
    }
    rel = n->name + (rel.empty() ? "" : "/") + rel;
  }
  return nullptr;
}

Result<std::shared_ptr<const FileVerifier>> SignedTree::ForOpen(
    const DirNode& node, int fd, const volume::FileContent& content) {
  if (policy_.trusted.empty()) return std::shared_ptr<const FileVerifier>();
  std::string rel;
  std::shared_ptr<SignedRoot> root = RootOf(node, &rel);
  if (!root) {
    if (!policy_.require) return std::shared_ptr<const FileVerifier>();
    std::string path = BackingPath(node);
    if (on_failure_) on_failure_("unsigned", "", path);
    return Status::PermissionDenied(path + " is not in a signed directory");
  }
  if (!root->status().ok()) return Status::Corruption(root->status().message());
  auto refuse = [&](const std::string& what) -> Status {
    if (on_failure_) on_failure_("file", root->path(), rel + ": " + what);
    return Status::Corruption("signed directory " + root->path() + ": " + rel + ": " + what);
  };
  const volume::ManifestEntry* entry = root->manifest().Find(rel);
  if (entry == nullptr || entry->kind != volume::ManifestEntry::Kind::kFile) {
    return refuse("not in the manifest");
  }
  struct stat st;
  if (fstat(fd, &st) != 0) return Status::FromErrno(errno, rel);
  if (static_cast<uint64_t>(st.st_size) != entry->size) return refuse("not the signed size");
  if (entry->size > 0 && (!content.file_id() || *content.file_id() != entry->file_id)) {
    return refuse("not the signed file");
  }
  auto leaves = root->Leaves(*entry);
  if (!leaves.ok()) return refuse(leaves.status().message());
  return std::shared_ptr<const FileVerifier>(
      std::make_shared<FileVerifier>(std::move(leaves).value(), rel, root->path(), on_failure_));
}

Status SignedTree::CheckSize(const DirNode& node, uint64_t backing_size) {
  if (policy_.trusted.empty()) return Status::Ok();
  std::string rel;
  std::shared_ptr<SignedRoot> root = RootOf(node, &rel);
  // A directory that fails its checks refuses every open and read already.
  if (!root || !root->status().ok()) return Status::Ok();
  const volume::ManifestEntry* entry = root->manifest().Find(rel);
  if (entry == nullptr || entry->kind != volume::ManifestEntry::Kind::kFile ||
      entry->size == backing_size) {
    return Status::Ok();
  }
  std::string detail = rel + ": its backing file is " + std::to_string(backing_size) +
                       " bytes, signed " + std::to_string(entry->size) + " (truncated or extended)";
  if (on_failure_) on_failure_("file", root->path(), detail);
  return Status::Corruption("signed directory " + root->path() + ": " + detail);
}

Status SignedTree::Freeze(DirNode& node, int dirfd) {
  UniqueFd marker(openat(dirfd, volume::kFrozenMarker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!marker.valid()) return Status::FromErrno(errno, "freezing");
  if (fsync(marker.get()) != 0) return Status::FromErrno(errno, "freezing");
  UniqueFd dir(openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid()) fsync(dir.get());
  Refresh(node, dirfd);
  return Status::Ok();
}

std::vector<uint8_t> SignedTree::Challenge(const DirNode& node) {
  std::array<uint8_t, 32> nonce{};
  (void)crypto::RandomBytes(nonce);
  std::string text = "modelvault unfreeze v1\n" + policy_.volume_hex + "\n" + BackingPath(node) +
                     "\n" + crypto::HexEncode(nonce) + "\n";
  std::vector<uint8_t> message(text.begin(), text.end());
  std::lock_guard lock(mu_);
  challenges_[&node] = message;
  return message;
}

Status SignedTree::Unfreeze(DirNode& node, int dirfd, std::span<const uint8_t> signature) {
  std::vector<uint8_t> challenge;
  {
    std::lock_guard lock(mu_);
    auto it = challenges_.find(&node);
    if (it != challenges_.end()) {
      challenge = std::move(it->second);
      challenges_.erase(it);
    }
  }
  if (Exists(dirfd, volume::kManifestFile)) {
    // Only whoever holds the key that signed the directory may unfreeze it.
    MV_ASSIGN_OR_RETURN(volume::Manifest manifest, ReadManifest(dirfd));
    // A refusal is on record: someone with the store key tried to open a published model.
    auto refuse = [&](const std::string& why) {
      if (on_failure_) on_failure_("unfreeze", BackingPath(node), "unfreeze refused: " + why);
      return Status::PermissionDenied(why);
    };
    if (challenge.empty()) return refuse("no unfreeze challenge was asked for");
    Status signed_by = VerifyWith(manifest, challenge, signature);
    if (!signed_by.ok()) {
      return refuse("the request is not signed by the key that signed the directory (" +
                    manifest.KeyId() + ")");
    }
  }
  if (unlinkat(dirfd, volume::kFrozenMarker, 0) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "unfreezing");
  }
  Refresh(node, dirfd);
  return Status::Ok();
}

Status SignedTree::Reload(DirNode& node, int dirfd) {
  Refresh(node, dirfd);
  return Status::Ok();
}

std::vector<LoadedSignedDir> SignedTree::Loaded() const {
  std::vector<LoadedSignedDir> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& weak : loaded_) {
      std::shared_ptr<SignedRoot> root = weak.lock();
      if (!root) continue;
      const volume::Manifest& m = root->manifest();
      out.push_back({root->path(), m.version, m.public_key.empty() ? "" : m.KeyId(),
                     root->status().ok() ? "" : root->failure()});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

}  // namespace modelvault::fs
