// SignedTree: what the daemon knows of frozen and signed directories (volume/manifest.h).
//
// Every inode gets a DirNode: its backing name and its parent directory's node, so that
// the daemon can tell, without a path, whether an object lies under a frozen directory
// (then every change to it is EROFS) and which manifest covers it. A directory's node
// notes whether its backing directory holds .mvfrozen or .mvmanifest, read at lookup and
// changed through the control attributes that `modelvault sign` and `unfreeze` set.
//
// With trusted keys configured, opening a file under a signed directory checks, once per
// directory, the manifest's signature, its version against the host's rollback state and
// the backing listing against the manifest (nothing added, removed or resized), then per
// file the header's file ID and the Merkle root of its leaf hashes; every block read is
// then checked against its leaf. A failure is EIO (and reported to on_failure, for the
// audit trail). With require_signatures, a file outside any signed directory is not
// opened (EACCES).
//
// Thread-safe: node links are guarded by mu_; flags are atomics; each SignedRoot guards
// its own caches. Lock order: SignedTree::mu_ before SignedRoot::mu_.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "volume/file_content.h"
#include "volume/manifest.h"

namespace modelvault::fs {

class SignedRoot;

struct DirNode {
  std::shared_ptr<DirNode> parent;  // guarded by SignedTree::mu_
  std::string name;                 // backing name in parent; guarded by SignedTree::mu_
  bool is_dir = false;
  std::atomic<bool> frozen{false};        // directories: .mvfrozen is present
  std::atomic<bool> has_manifest{false};  // directories: .mvmanifest is present
  // Directories: no .mvmanifest, but this host has accepted one for this directory: the
  // manifest was removed, which must not turn a signed directory into an unsigned one.
  std::atomic<bool> was_signed{false};
  UniqueFd dirfd;                    // directories that are frozen or signed: O_PATH
  std::shared_ptr<SignedRoot> root;  // loaded on first need; guarded by SignedTree::mu_
};

// How a mount treats signatures (from --trust, --require-signatures, --allow-rollback).
struct SignaturePolicy {
  std::vector<volume::TrustedKey> trusted;  // empty: no verification at all
  bool require = false;
  bool allow_rollback = false;
  std::string state_file;  // rollback state ("" = the default)
  std::string volume_hex;
  uint32_t block_size = 0;
};

// What went wrong, for the audit trail: "signature", "rollback", "listing", "file",
// "block", "unsigned", or "unfreeze" (a request to unfreeze not signed by the directory's
// key).
using SignatureFailureFn =
    std::function<void(std::string_view what, const std::string& dir, const std::string& detail)>;

// The leaves of one open file, checked against its Merkle root.
class FileVerifier {
 public:
  FileVerifier(std::shared_ptr<const std::vector<crypto::Digest>> leaves, std::string path,
               std::string dir, SignatureFailureFn on_failure)
      : leaves_(std::move(leaves)),
        path_(std::move(path)),
        dir_(std::move(dir)),
        on_failure_(std::move(on_failure)) {}
  Status CheckBlock(uint64_t index, std::span<const uint8_t> stored) const;

 private:
  std::shared_ptr<const std::vector<crypto::Digest>> leaves_;
  std::string path_, dir_;
  SignatureFailureFn on_failure_;
};

// A signed directory the daemon has loaded, for `modelvault status`.
struct LoadedSignedDir {
  std::string path;  // backing path relative to the store, as in the audit trail
  uint64_t version = 0;
  std::string key_id;
  std::string failure;  // "" if it passed its checks, else the check that failed
};

class SignedTree {
 public:
  SignedTree(SignaturePolicy policy, SignatureFailureFn on_failure)
      : policy_(std::move(policy)), on_failure_(std::move(on_failure)) {}

  // The node of an object found as `name` in `parent` (null for the root). `fd` is its
  // O_PATH descriptor, used to look for .mvfrozen and .mvmanifest in a directory.
  std::shared_ptr<DirNode> NewNode(const std::shared_ptr<DirNode>& parent, std::string name,
                                   bool is_dir, int fd);
  // The object was found again, perhaps renamed or moved.
  void Relink(DirNode& node, const std::shared_ptr<DirNode>& parent, std::string name);
  // A directory was looked up again: notes a manifest or freeze that came or went since,
  // signed or unfrozen through another mount (a reader that saw a directory before it
  // was first signed would otherwise keep treating it as unsigned).
  void Revisit(DirNode& node, int fd);
  // True if `node` or a directory above it is frozen.
  bool Frozen(const DirNode& node) const;
  // True if `node` is `ancestor` or lies below it.
  bool IsUnder(const DirNode& node, const DirNode& ancestor) const;
  // The backing path of `node` relative to the store's root ("" for the root).
  std::string BackingPath(const DirNode& node) const;

  // For an open of the regular file at `node` with `content` loaded from `fd`: the block
  // verifier (null if the file needs none), or EIO / EACCES.
  Result<std::shared_ptr<const FileVerifier>> ForOpen(const DirNode& node, int fd,
                                                      const volume::FileContent& content);

  // For a file opened with a verifier: Ok if `backing_size` is its size in the current
  // manifest, else EIO (reported to on_failure). The kernel takes a file's size from
  // lookups and getattr; a signed file truncated (or extended) in the backing directory
  // after it was opened would otherwise end early, with no read left that could fail.
  Status CheckSize(const DirNode& node, uint64_t backing_size);

  // The control attributes: freeze a directory, unfreeze it with the publisher's signature
  // over Challenge(), and reload it after `sign` wrote a manifest.
  Status Freeze(DirNode& node, int dirfd);
  std::vector<uint8_t> Challenge(const DirNode& node);
  Status Unfreeze(DirNode& node, int dirfd, std::span<const uint8_t> signature);
  Status Reload(DirNode& node, int dirfd);

  // The signed directories loaded now (a directory is loaded when a file under it is
  // first opened), sorted by path.
  std::vector<LoadedSignedDir> Loaded() const;

 private:
  // The signed directory `node` lies in (itself or above), loading it if needed; null if
  // none. `relative` gets the node's path inside it.
  std::shared_ptr<SignedRoot> RootOf(const DirNode& node, std::string* relative);
  void Refresh(DirNode& node, int dirfd);
  // True if this host's rollback state holds a manifest version for the directory.
  bool Remembered(int dirfd);

  const SignaturePolicy policy_;
  const SignatureFailureFn on_failure_;
  mutable std::mutex mu_;
  std::map<const DirNode*, std::vector<uint8_t>> challenges_;  // guarded by mu_
  // Every root RootOf() loaded; a root dropped by its node (reloaded, forgotten) expires.
  std::vector<std::weak_ptr<SignedRoot>> loaded_;  // guarded by mu_
};

}  // namespace modelvault::fs
