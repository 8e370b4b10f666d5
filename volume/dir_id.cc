#include "volume/dir_id.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/file_util.h"
#include "base/unique_fd.h"
#include "volume/name_codec.h"

namespace modelvault::volume {
namespace {

// The ID file is written once and never changed in place: read-only even for the owner.
constexpr mode_t kDirIdMode = 0400;
constexpr char kDirIdTemp[] = ".mvdir.tmp";

std::string IdPath(const std::string& dir) { return dir + "/" + kDirIdFile; }

// fsync needs a descriptor opened for reading; `dirfd` may be an O_PATH descriptor.
Status SyncDir(int dirfd, const std::string& path) {
  UniqueFd fd(openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "opening " + path);
  if (fsync(fd.get()) != 0) return Status::FromErrno(errno, "syncing " + path);
  return Status::Ok();
}

}  // namespace

Result<DirId> ReadDirId(int dirfd, const std::string& path) {
  UniqueFd fd(openat(dirfd, kDirIdFile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return Status::Corruption(IdPath(path) + " is missing (every directory of a store has one)");
    }
    return Status::FromErrno(errno, "opening " + IdPath(path));
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, IdPath(path));
  DirId id;
  if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != id.bytes.size()) {
    return Status::Corruption(IdPath(path) + ": not a file of exactly " +
                              std::to_string(id.bytes.size()) + " bytes");
  }
  MV_ASSIGN_OR_RETURN(size_t n, PreadFull(fd.get(), id.bytes, 0));
  if (n != id.bytes.size()) return Status::Corruption(IdPath(path) + ": file shrank while read");
  return id;
}

Status WriteDirId(int dirfd, const DirId& id, const std::string& path) {
  // The file is read-only, so a replacement is written beside it and renamed over it,
  // which also means a crash leaves either the old ID or the new one.
  std::string temp_path = path + "/" + kDirIdTemp;
  unlinkat(dirfd, kDirIdTemp, 0);
  {
    UniqueFd fd(openat(dirfd, kDirIdTemp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       kDirIdMode));
    if (!fd.valid()) return Status::FromErrno(errno, "creating " + temp_path);
    Status st = PwriteFull(fd.get(), id.span(), 0).Annotate(temp_path);
    if (st.ok() && fchmod(fd.get(), kDirIdMode) != 0) st = Status::FromErrno(errno, temp_path);
    if (st.ok() && fsync(fd.get()) != 0) st = Status::FromErrno(errno, "syncing " + temp_path);
    if (!st.ok()) {
      unlinkat(dirfd, kDirIdTemp, 0);
      return st;
    }
  }
  if (renameat(dirfd, kDirIdTemp, dirfd, kDirIdFile) != 0) {
    int err = errno;
    unlinkat(dirfd, kDirIdTemp, 0);
    return Status::FromErrno(err, "renaming " + temp_path + " to " + IdPath(path));
  }
  return SyncDir(dirfd, path);
}

}  // namespace modelvault::volume
