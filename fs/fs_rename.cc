// Removing directories and renaming entries: the requests that must keep a directory's ID
// file and a long name's sidecar consistent with the entries they belong to.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "fs/filesystem.h"
#include "volume/dir_id.h"
#include "volume/manifest.h"

namespace modelvault::fs {
namespace {

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

// Files modelvault may find in a directory that the user sees as empty: its ID file, and
// leftovers of interrupted operations (a long name's sidecar whose entry is gone).
// Returns false if the directory holds anything else, and lists the leftovers otherwise.
Result<bool> EmptyForUser(int dirfd, std::vector<std::string>* leftovers) {
  int dup_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return Status::FromErrno(errno, "rmdir");
  std::unique_ptr<DIR, DirCloser> dir(fdopendir(dup_fd));
  if (!dir) {
    close(dup_fd);
    return Status::FromErrno(errno, "rmdir");
  }
  constexpr std::string_view kSidecarSuffix = ".name";
  while (struct dirent* e = readdir(dir.get())) {
    std::string_view name(e->d_name);
    if (name == "." || name == ".." || name == volume::kDirIdFile) continue;
    // What signing left in a directory that is no longer frozen goes with it.
    if (name == volume::kManifestFile || name == volume::kHashesDir) {
      leftovers->emplace_back(name);
      continue;
    }
    if (name.starts_with(".L") && name.ends_with(kSidecarSuffix)) {
      std::string entry(name.substr(0, name.size() - kSidecarSuffix.size()));
      struct stat st;
      if (fstatat(dirfd, entry.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) {
        leftovers->emplace_back(name);
        continue;
      }
    }
    return false;
  }
  return true;
}

// Removes the .mvhashes directory that signing made (its files have plain hex names).
void RemoveHashList(int dirfd) {
  UniqueFd hashes(
      openat(dirfd, volume::kHashesDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (hashes.valid()) {
    int dup_fd = fcntl(hashes.get(), F_DUPFD_CLOEXEC, 0);
    std::unique_ptr<DIR, DirCloser> dir(dup_fd >= 0 ? fdopendir(dup_fd) : nullptr);
    while (dir) {
      struct dirent* e = readdir(dir.get());
      if (e == nullptr) break;
      if (e->d_name[0] != '.') unlinkat(hashes.get(), e->d_name, 0);
    }
  }
  unlinkat(dirfd, volume::kHashesDir, AT_REMOVEDIR);
}

// Removes the ID file (and leftovers) of a directory the user sees as empty, so that the
// backing directory itself can be removed or replaced. Returns the ID, to put back with
// ClearedDir::GiveBack() if the removal fails. ENOTEMPTY if the directory has entries.
Result<std::optional<volume::DirId>> ClearEmptyDir(int dirfd) {
  std::vector<std::string> leftovers;
  MV_ASSIGN_OR_RETURN(bool empty, EmptyForUser(dirfd, &leftovers));
  if (!empty) return Status::FromErrno(ENOTEMPTY, "directory not empty");
  for (const auto& name : leftovers) {
    if (name == volume::kHashesDir) {
      RemoveHashList(dirfd);
    } else {
      unlinkat(dirfd, name.c_str(), 0);
    }
  }
  std::optional<volume::DirId> id;
  auto read = volume::ReadDirId(dirfd, BackingPath(dirfd));
  if (read.ok()) id = *read;
  if (unlinkat(dirfd, volume::kDirIdFile, 0) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "removing directory ID");
  }
  return id;
}

// A directory about to be removed or replaced, and what must go back should it stay: its
// ID file, so that the names inside remain readable, and any mode lent by ClearDir().
struct ClearedDir {
  UniqueFd fd;
  std::optional<volume::DirId> id;
  std::optional<mode_t> lent;
  void GiveBack() const {
    if (id) (void)volume::WriteDirId(fd.get(), *id, BackingPath(fd.get()));
    if (lent) fchmod(fd.get(), *lent);
  }
};

// Opens the directory `name` in `parent` and clears it (ClearEmptyDir). A daemon without
// root is held to the directory's own mode, which is the plaintext one: to list an empty
// directory of mode 0555 or 0 and take its ID file out, it lends its user read, write and
// search permission first.
Result<ClearedDir> ClearDir(int parent, const std::string& name, std::string_view what) {
  ClearedDir dir;
  struct stat st;
  if (geteuid() != 0 && fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISDIR(st.st_mode) && (st.st_mode & S_IRWXU) != S_IRWXU &&
      fchmodat(parent, name.c_str(), (st.st_mode & 07777) | S_IRWXU, 0) == 0) {
    dir.lent = st.st_mode & 07777;
  }
  dir.fd.Reset(openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.fd.valid()) {
    int err = errno;
    if (dir.lent) fchmodat(parent, name.c_str(), *dir.lent, 0);
    return Status::FromErrno(err, what);
  }
  auto id = ClearEmptyDir(dir.fd.get());
  if (!id.ok()) {
    dir.GiveBack();
    return id.status();
  }
  dir.id = *id;
  return dir;
}

}  // namespace

Status Filesystem::DoRmdir(Inode* parent, std::string_view name) {
  MV_RETURN_IF_ERROR(CheckMutable(parent, "rmdir"));
  MV_ASSIGN_OR_RETURN(auto enc, Encode(parent, name));
  MV_RETURN_IF_ERROR(CheckNotFrozenDir(parent, enc.backing, "rmdir"));
  int pfd = parent->fd.get();
  MV_ASSIGN_OR_RETURN(ClearedDir dir, ClearDir(pfd, enc.backing, "rmdir"));
  if (unlinkat(pfd, enc.backing.c_str(), AT_REMOVEDIR) != 0) {
    int err = errno;
    dir.GiveBack();
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
  MV_RETURN_IF_ERROR(CheckMutable(parent, "rename"));
  MV_RETURN_IF_ERROR(CheckMutable(new_parent, "rename"));
  MV_ASSIGN_OR_RETURN(auto from, Encode(parent, name));
  MV_ASSIGN_OR_RETURN(auto to, Encode(new_parent, new_name));
  MV_RETURN_IF_ERROR(CheckNotFrozenDir(parent, from.backing, "rename"));
  MV_RETURN_IF_ERROR(CheckNotFrozenDir(new_parent, to.backing, "rename"));
  MV_RETURN_IF_ERROR(PrepareName(new_parent, to));
  // A directory may replace an empty one; in the backing store the target still holds its
  // ID file, which has to go first (and come back if the rename fails).
  std::optional<ClearedDir> replaced;
  if (flags == 0) {
    struct stat src, dst;
    if (fstatat(parent->fd.get(), from.backing.c_str(), &src, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(src.st_mode) &&
        fstatat(new_parent->fd.get(), to.backing.c_str(), &dst, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(dst.st_mode) && (src.st_dev != dst.st_dev || src.st_ino != dst.st_ino)) {
      MV_ASSIGN_OR_RETURN(ClearedDir dir, ClearDir(new_parent->fd.get(), to.backing, "rename"));
      replaced = std::move(dir);
    }
  }
  UniqueFd held = flags == 0 ? HoldBeforeRemoval(new_parent, to.backing) : UniqueFd();
  if (renameat2(parent->fd.get(), from.backing.c_str(), new_parent->fd.get(), to.backing.c_str(),
                flags) != 0) {
    int err = errno;
    if (replaced) replaced->GiveBack();
    return Status::FromErrno(err, "rename");
  }
  KeepIfOrphaned(std::move(held));
  // rename(2) leaves both names when they are links to one inode; keep the sidecar then.
  struct stat st;
  bool source_gone = fstatat(parent->fd.get(), from.backing.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0;
  if (!(flags & RENAME_EXCHANGE) && source_gone) DropLongName(parent, from);
  // The kernel moves its dentries without asking again; the moved objects' nodes must
  // follow, or a later move could link a directory below its own stale child.
  RelinkMoved(new_parent, to.backing);
  if (flags & RENAME_EXCHANGE) RelinkMoved(parent, from.backing);
  return Status::Ok();
}

void Filesystem::RelinkMoved(Inode* parent, const std::string& backing) {
  struct stat st;
  if (fstatat(parent->fd.get(), backing.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
  std::shared_ptr<DirNode> parent_node = parent->Node();
  std::shared_ptr<DirNode> node;
  inodes_.ForKey(st.st_dev, st.st_ino, [&](Inode* moved) { node = moved->Node(); });
  if (node) signed_.Relink(*node, parent_node, backing);
}

}  // namespace modelvault::fs
