// Removing directories and renaming entries: the requests that must keep a directory's ID
// file and a long name's sidecar consistent with the entries they belong to.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fs/filesystem.h"
#include "volume/dir_id.h"

namespace modelvault::fs {
namespace {

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

// True if the backing directory holds nothing but its ID file.
Result<bool> OnlyIdFileIn(int dirfd) {
  int dup_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return Status::FromErrno(errno, "rmdir");
  std::unique_ptr<DIR, DirCloser> dir(fdopendir(dup_fd));
  if (!dir) {
    close(dup_fd);
    return Status::FromErrno(errno, "rmdir");
  }
  while (struct dirent* e = readdir(dir.get())) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0 ||
        std::strcmp(e->d_name, volume::kDirIdFile) == 0) {
      continue;
    }
    return false;
  }
  return true;
}

}  // namespace

Status Filesystem::DoRmdir(Inode* parent, std::string_view name) {
  MV_ASSIGN_OR_RETURN(auto enc, Encode(parent, name));
  int pfd = parent->fd.get();
  UniqueFd dfd(openat(pfd, enc.backing.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dfd.valid()) return Status::FromErrno(errno, "rmdir");
  MV_ASSIGN_OR_RETURN(bool empty, OnlyIdFileIn(dfd.get()));
  if (!empty) return Status::FromErrno(ENOTEMPTY, "rmdir");
  auto id = volume::ReadDirId(dfd.get(), BackingPath(dfd.get()));
  if (unlinkat(dfd.get(), volume::kDirIdFile, 0) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "rmdir");
  }
  if (unlinkat(pfd, enc.backing.c_str(), AT_REMOVEDIR) != 0) {
    int err = errno;
    // The directory stays: give it back its ID so the names inside remain readable.
    if (id.ok()) (void)volume::WriteDirId(dfd.get(), *id, BackingPath(dfd.get()));
    return Status::FromErrno(err, "rmdir");
  }
  DropLongName(parent, enc);
  return Status::Ok();
}

Status Filesystem::DoRename(Inode* parent, std::string_view name, Inode* new_parent,
                            std::string_view new_name, unsigned int flags) {
  if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) != 0) {
    return Status::FromErrno(EINVAL, "rename");
  }
  MV_ASSIGN_OR_RETURN(auto from, Encode(parent, name));
  MV_ASSIGN_OR_RETURN(auto to, Encode(new_parent, new_name));
  MV_RETURN_IF_ERROR(PrepareName(new_parent, to));
  if (renameat2(parent->fd.get(), from.backing.c_str(), new_parent->fd.get(), to.backing.c_str(),
                flags) != 0) {
    return Status::FromErrno(errno, "rename");
  }
  // rename(2) leaves both names when they are links to one inode; keep the sidecar then.
  struct stat st;
  bool source_gone = fstatat(parent->fd.get(), from.backing.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0;
  if (!(flags & RENAME_EXCHANGE) && source_gone) DropLongName(parent, from);
  return Status::Ok();
}

}  // namespace modelvault::fs
