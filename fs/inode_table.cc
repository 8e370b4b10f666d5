#include "fs/inode_table.h"

namespace modelvault::fs {

Inode* InodeTable::Lookup(UniqueFd fd, std::vector<unsigned char> handle, const struct stat& st) {
  if (root_ && st.st_dev == root_->dev && st.st_ino == root_->ino) return root_.get();
  std::lock_guard lock(mu_);
  auto key = std::make_pair(st.st_dev, st.st_ino);
  auto it = inodes_.find(key);
  // The backing filesystem reused the number of a removed object that the kernel still
  // holds: a different handle, or a different type (a directory, which keeps no handle,
  // where a file was). That Inode lives on outside the index until it is forgotten.
  if (it != inodes_.end() &&
      (it->second->type != (st.st_mode & S_IFMT) ||
       (!it->second->handle.empty() && !handle.empty() && it->second->handle != handle))) {
    Inode* old = it->second.get();
    retired_.emplace(old, std::move(it->second));
    inodes_.erase(it);
    it = inodes_.end();
  }
  if (it == inodes_.end()) {
    auto inode = std::make_unique<Inode>();
    if (handle.empty()) {
      inode->fd = std::move(fd);
    } else {
      inode->handle = std::move(handle);
    }
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
  if (inode->nlookup.fetch_sub(n) != n) return;
  if (retired_.erase(inode) != 0) return;
  auto it = inodes_.find(std::make_pair(inode->dev, inode->ino));
  if (it != inodes_.end() && it->second.get() == inode) inodes_.erase(it);
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
