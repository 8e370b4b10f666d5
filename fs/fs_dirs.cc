// Directory listings: backing entries are decoded on the fly; modelvault's own files (names
// containing '.') are never listed, and an entry whose name fails authentication is left
// out with a log line rather than failing the whole listing.
#include "fs/fs_dirs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/file_util.h"
#include "base/log.h"
#include "volume/name_codec.h"

namespace modelvault::fs {

Result<std::string> Filesystem::DecodeEntry(int dirfd, const volume::DirId& dir_id,
                                            std::string_view backing_name) {
  std::string sealed(backing_name);
  if (volume::NameCodec::Classify(backing_name) == volume::NameCodec::EntryKind::kLong) {
    std::string sidecar = volume::NameCodec::LongNameSidecar(backing_name);
    UniqueFd fd(openat(dirfd, sidecar.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return Status::FromErrno(errno, "reading " + sidecar);
    char buf[4096];
    MV_ASSIGN_OR_RETURN(size_t n,
                        PreadFull(fd.get(), {reinterpret_cast<uint8_t*>(buf), sizeof(buf)}, 0));
    sealed.assign(buf, n);
  }
  return volume_->names().Decode(dir_id, sealed);
}

Result<std::unique_ptr<DirHandle>> OpenDir(Filesystem& fs, Inode* inode) {
  MV_ASSIGN_OR_RETURN(auto id, fs.DirIdOf(inode));
  int fd = openat(inode->fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "opendir");
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    close(fd);
    return Status::FromErrno(err, "opendir");
  }
  auto handle = std::make_unique<DirHandle>();
  handle->dir = dir;
  handle->dir_id = id;
  return handle;
}

DirHandle::~DirHandle() {
  if (dir) closedir(dir);
}

Result<size_t> ReadDir(Filesystem& fs, fuse_req_t req, Inode* inode, DirHandle* d,
                       std::span<char> buf, off_t offset, bool plus) {
  std::lock_guard lock(d->mu);
  if (offset != d->offset) {
    seekdir(d->dir, offset);
    d->offset = offset;
  }
  size_t used = 0;
  while (true) {
    errno = 0;
    struct dirent* entry = readdir(d->dir);
    if (entry == nullptr) {
      if (errno != 0 && used == 0) return Status::FromErrno(errno, "readdir");
      break;
    }
    std::string_view name(entry->d_name);
    bool dots = name == "." || name == "..";
    std::string plain;
    if (!dots) {
      if (volume::NameCodec::Classify(name) == volume::NameCodec::EntryKind::kInternal) {
        d->offset = entry->d_off;
        continue;
      }
      auto decoded = fs.DecodeEntry(dirfd(d->dir), d->dir_id, name);
      if (!decoded.ok()) {
        LogWarning("skipping entry " + std::string(name) +
                   " in a listing: " + decoded.status().message());
        d->offset = entry->d_off;
        continue;
      }
      plain = std::move(decoded).value();
    } else {
      plain = std::string(name);
    }
    size_t rem = buf.size() - used;
    size_t entsize;
    fuse_entry_param e;
    std::memset(&e, 0, sizeof(e));
    if (plus && !dots) {
      auto looked = fs.DoLookup(inode, plain);
      if (!looked.ok() && looked.status().ToErrno() == ENOENT) {
        d->offset = entry->d_off;
        continue;  // removed since the listing started
      }
      if (looked.ok()) {
        e = *looked;
      } else {
        // Listed without attributes (ino 0): the name stays visible, and a stat of it
        // reports the error.
        e.attr.st_ino = entry->d_ino;
        e.attr.st_mode = static_cast<mode_t>(entry->d_type) << 12;
      }
      entsize =
          fuse_add_direntry_plus(req, buf.data() + used, rem, plain.c_str(), &e, entry->d_off);
    } else {
      e.attr.st_ino = entry->d_ino;
      e.attr.st_mode = static_cast<mode_t>(entry->d_type) << 12;
      entsize = plus ? fuse_add_direntry_plus(req, buf.data() + used, rem, plain.c_str(), &e,
                                              entry->d_off)
                     : fuse_add_direntry(req, buf.data() + used, rem, plain.c_str(), &e.attr,
                                         entry->d_off);
    }
    if (entsize > rem) {
      if (e.ino) fs.inodes().Forget(fs.ToInode(e.ino), 1);
      seekdir(d->dir, d->offset);  // this entry goes first in the next reply
      break;
    }
    used += entsize;
    d->offset = entry->d_off;
  }
  return used;
}

}  // namespace modelvault::fs
