// Inode and InodeTable: the filesystem's view of backing inodes. Operations address backing
// objects through descriptors, never by path string, so a renamed or unlinked object stays
// reachable. A directory owns an O_PATH descriptor (it is the dirfd of every *at call in
// it). Other objects own a file handle (name_to_handle_at) where the daemon may open by
// handle, and a descriptor is opened for each operation: the kernel may cache far more
// inodes than a process may hold descriptors. Where handles are unavailable every Inode
// owns a descriptor.
//
// Inodes are keyed by the backing (st_dev, st_ino): two hard links share one Inode, and
// with it one content lock and one FileContent. A descriptor pins its inode, so its number
// cannot be reused while the Inode exists; a handle does not, and a handle that differs
// from the one on record marks the old Inode as belonging to a removed object.
//
// Lifetime follows the kernel's lookup count: Lookup() adds one, Forget() subtracts, and an
// Inode is destroyed when its count reaches zero. The fuse_ino_t handed to the kernel is the
// Inode's address (FUSE_ROOT_ID maps to the root).
//
// Thread-safety: InodeTable is thread-safe (one mutex, held briefly). Inode::content_mu
// serialises content changes: shared for reads, exclusive for write, truncate, fallocate
// and header creation. Lock order: InodeTable::mu_ before nothing; content_mu before no
// other lock of this layer.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "fs/signed_tree.h"
#include "volume/file_content.h"
#include "volume/ids.h"

namespace modelvault::fs {

struct Inode {
  UniqueFd fd;                        // O_PATH | O_NOFOLLOW; unset when `handle` is used
  std::vector<unsigned char> handle;  // a struct file_handle; empty when `fd` is used
  dev_t dev = 0;
  ino_t ino = 0;
  mode_t type = 0;  // S_IFMT bits of the backing object
  std::atomic<uint64_t> nlookup{0};

  std::shared_mutex content_mu;
  // Loaded on first open of a regular file, kept while the inode lives.
  std::unique_ptr<volume::FileContent> content;  // guarded by content_mu

  std::mutex dir_mu;
  std::optional<volume::DirId> dir_id;  // directories; guarded by dir_mu

  // Where the object sits, for frozen and signed directories (signed_tree.h); set at its
  // first lookup and relinked at later ones.
  // Open descriptors with write access: a directory with one below it is not frozen.
  std::atomic<int> writers{0};
  // Opened as a file of a signed directory (with a block verifier) and not written through
  // this mount since: its size is checked against the manifest whenever it is reported.
  std::atomic<bool> signed_open{false};

  std::mutex node_mu;
  std::shared_ptr<DirNode> node;  // guarded by node_mu
  std::shared_ptr<DirNode> Node() {
    std::lock_guard lock(node_mu);
    return node;
  }

  // A file kept by `handle` whose last link went while the kernel still knew it: the kernel
  // goes on sending requests for it (the times it cached are written back after the
  // unlink), and a stale handle cannot serve them, so an O_PATH descriptor keeps the object
  // until the inode is forgotten, as a local file system keeps an unlinked inode. Set at
  // most once, closed only with the inode, so the descriptor may be used without the lock.
  void KeepOrphan(UniqueFd fd) {
    std::lock_guard lock(orphan_mu);
    if (!orphan.valid()) orphan = std::move(fd);
  }
  int Orphan() {
    std::lock_guard lock(orphan_mu);
    return orphan.get();
  }

 private:
  std::mutex orphan_mu;
  UniqueFd orphan;  // guarded by orphan_mu
};

class InodeTable {
 public:
  // Registers (or finds) the inode for `st` and adds one lookup reference. A new Inode keeps
  // `handle` if it is not empty, else takes ownership of `fd`.
  Inode* Lookup(UniqueFd fd, std::vector<unsigned char> handle, const struct stat& st);
  // Drops `n` lookup references; destroys the inode when none remain.
  void Forget(Inode* inode, uint64_t n);
  Inode* root() { return root_.get(); }
  dev_t root_dev() const { return root_ ? root_->dev : 0; }
  void SetRoot(UniqueFd fd, const struct stat& st);
  // Calls `fn` with the inode of (dev, ino) if the table holds one, under the table's lock.
  template <class Fn>
  void ForKey(dev_t dev, ino_t ino, Fn fn) {
    std::lock_guard lock(mu_);
    if (root_ && root_->dev == dev && root_->ino == ino) return fn(root_.get());
    auto it = inodes_.find(std::make_pair(dev, ino));
    if (it != inodes_.end()) fn(it->second.get());
  }
  // Calls `fn` for every live inode, the root included, under the table's lock: `fn` must
  // not call back into the table.
  template <class Fn>
  void ForEach(Fn fn) {
    std::lock_guard lock(mu_);
    if (root_) fn(root_.get());
    for (auto& [key, inode] : inodes_) fn(inode.get());
    for (auto& [ptr, inode] : retired_) fn(inode.get());
  }

 private:
  std::mutex mu_;
  std::map<std::pair<dev_t, ino_t>, std::unique_ptr<Inode>> inodes_;  // guarded by mu_
  // Inodes of removed objects whose numbers were reused, until the kernel forgets them.
  std::map<Inode*, std::unique_ptr<Inode>> retired_;  // guarded by mu_
  std::unique_ptr<Inode> root_;
};

}  // namespace modelvault::fs
