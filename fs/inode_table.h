// Inode and InodeTable: the filesystem's view of backing inodes. Each Inode owns an O_PATH
// descriptor of its backing file or directory, so operations address backing objects by
// descriptor, never by path string, and a renamed or unlinked object stays reachable.
// Inodes are keyed by the backing (st_dev, st_ino): two hard links share one Inode, and with
// it one content lock and one FileContent.
//
// The O_PATH descriptor pins the backing inode, so its number cannot be reused for another
// object while the Inode exists; the (st_dev, st_ino) key stays unambiguous.
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

#include "base/result.h"
#include "base/unique_fd.h"
#include "volume/file_content.h"
#include "volume/ids.h"

namespace modelvault::fs {

struct Inode {
  UniqueFd fd;  // O_PATH | O_NOFOLLOW
  dev_t dev = 0;
  ino_t ino = 0;
  mode_t type = 0;  // S_IFMT bits of the backing object
  std::atomic<uint64_t> nlookup{0};

  std::shared_mutex content_mu;
  // Loaded on first open of a regular file, kept while the inode lives.
  std::unique_ptr<volume::FileContent> content;  // guarded by content_mu

  std::mutex dir_mu;
  std::optional<volume::DirId> dir_id;  // directories; guarded by dir_mu
};

class InodeTable {
 public:
  // Registers (or finds) the inode for `st`, taking ownership of `fd` if it is new, and adds
  // one lookup reference.
  Inode* Lookup(UniqueFd fd, const struct stat& st);
  // Drops `n` lookup references; destroys the inode when none remain.
  void Forget(Inode* inode, uint64_t n);
  Inode* root() { return root_.get(); }
  void SetRoot(UniqueFd fd, const struct stat& st);

 private:
  std::mutex mu_;
  std::map<std::pair<dev_t, ino_t>, std::unique_ptr<Inode>> inodes_;  // guarded by mu_
  std::unique_ptr<Inode> root_;
};

}  // namespace modelvault::fs
