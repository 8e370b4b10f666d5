// Open directories: a DirHandle per opendir, read in pieces by ReadDir() at the offsets the
// kernel passes back. Internal to fs/. A DirHandle is used under its own mutex.
#pragma once

#include <dirent.h>

#include <memory>
#include <mutex>
#include <span>

#include "fs/filesystem.h"

namespace modelvault::fs {

struct DirHandle {
  std::mutex mu;
  DIR* dir = nullptr;  // guarded by mu
  volume::DirId dir_id;
  off_t offset = 0;  // guarded by mu: position after the last entry handed out
  ~DirHandle();
};

Result<std::unique_ptr<DirHandle>> OpenDir(Filesystem& fs, Inode* inode);
// Fills `buf` with entries from `offset` on; returns the bytes used (0 at the end).
Result<size_t> ReadDir(Filesystem& fs, fuse_req_t req, Inode* inode, DirHandle* d,
                       std::span<char> buf, off_t offset, bool plus);

}  // namespace modelvault::fs
