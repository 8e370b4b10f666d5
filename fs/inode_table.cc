#include "fs/inode_table.h"

namespace modelvault::fs {

Inode* InodeTable::Lookup(UniqueFd fd, const struct stat& st) {
  if (root_ && st.st_dev == root_->dev && st.st_ino == root_->ino) return root_.get();
  std::lock_guard lock(mu_);
  auto key = std::make_pair(st.st_dev, st.st_ino);
  auto it = inodes_.find(key);
  if (it == inodes_.end()) {
    auto inode = std::make_unique<Inode>();
    inode->fd = std::move(fd);
    inode->dev = st.st_dev;
    inode->ino = st.st_ino;
    inode->type = st.st_mode & S_IFMT;
    it = inodes_.emplace(key, std::move(inode)).first;
  }
  it->second->nlookup.fetch_add(1);
  return it->second.get();
}

void InodeTable::Forget(Inode* inode, uint64_t n) {
  if (inode == root_.get()) return;
  std::lock_guard lock(mu_);
  // The count only reaches zero under mu_, so a concurrent Lookup() either sees the inode
  // before this erase (and revives the count) or creates a fresh one after it.
  if (inode->nlookup.fetch_sub(n) == n) inodes_.erase(std::make_pair(inode->dev, inode->ino));
}

void InodeTable::SetRoot(UniqueFd fd, const struct stat& st) {
  root_ = std::make_unique<Inode>();
  root_->fd = std::move(fd);
  root_->dev = st.st_dev;
  root_->ino = st.st_ino;
  root_->type = S_IFDIR;
  root_->nlookup = 1;
}

}  // namespace modelvault::fs
