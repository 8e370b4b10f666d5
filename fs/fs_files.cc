// File content requests: open, create, read, write, truncate, fsync, fallocate; and the
// attribute changes that go with them.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <shared_mutex>

#include "fs/filesystem.h"
#include "fs/readahead.h"

namespace modelvault::fs {
namespace {

Status Errno(std::string_view what) { return Status::FromErrno(errno, what); }

// Flags for the backing descriptor: always readable (a partial block write decrypts the
// block first), never O_APPEND (the plaintext end is not the backing end) or O_DIRECT.
int BackingFlags(int flags, bool read_only) {
  int out = read_only ? O_RDONLY : O_RDWR;
  out |= flags & (O_SYNC | O_DSYNC | O_NOATIME);
  return out | O_CLOEXEC;
}

// What a write by a user without CAP_FSETID does to a file's mode, by the kernel's rule for
// FUSE: set-user-ID goes, and set-group-ID where group execute is set.
Status DropSetIdBits(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return Errno("stat");
  mode_t drop = S_ISUID | ((st.st_mode & S_IXGRP) ? S_ISGID : 0);
  if ((st.st_mode & drop) == 0) return Status::Ok();
  if (fchmod(fd, st.st_mode & 07777 & ~drop) != 0) return Errno("chmod");
  return Status::Ok();
}

}  // namespace

Result<UniqueFd> Filesystem::OpenBacking(Inode* inode, int flags) {
  if (inode->type == S_IFDIR) return Status::FromErrno(EISDIR, "open");
  if (inode->type != S_IFREG) return Status::FromErrno(EINVAL, "open");
  int backing_flags = BackingFlags(flags, options_.read_only);
  auto fd = OpenInode(inode, backing_flags);
  if (!fd.ok() && fd.status().ToErrno() == EPERM && (flags & O_NOATIME)) {
    backing_flags &= ~O_NOATIME;
    fd = OpenInode(inode, backing_flags);
  }
  // A daemon without root is held to the backing file's mode, which is the file's own: a
  // file made read-only must still open for reading, on a descriptor that only reads.
  if (!fd.ok() && fd.status().ToErrno() == EACCES && (flags & O_ACCMODE) == O_RDONLY &&
      !(flags & O_TRUNC)) {
    fd = OpenInode(inode, (backing_flags & ~O_ACCMODE) | O_RDONLY);
  }
  if (!fd.ok() && fd.status().ToErrno() == EACCES && geteuid() != 0) {
    fd = OpenLendingAccess(inode, backing_flags);
  }
  return fd;
}

// A file writable but not readable by its owner (0200) must still open for writing, and
// the daemon reads every block it rewrites: it lends its user read and write permission
// for the length of the open. Only the owner may change the mode, so this is for a daemon
// without root, which owns every backing file.
Result<UniqueFd> Filesystem::OpenLendingAccess(Inode* inode, int flags) {
  MV_ASSIGN_OR_RETURN(PathRef path, PathOf(inode));
  struct stat st;
  if (fstat(path.get(), &st) != 0) return Errno("open");
  const mode_t mode = st.st_mode & 07777;
  const std::string proc = ProcPath(path.get());
  if ((mode & S_IRUSR) && (mode & S_IWUSR)) return Status::FromErrno(EACCES, "open");
  if (chmod(proc.c_str(), mode | S_IRUSR | S_IWUSR) != 0) return Status::FromErrno(EACCES, "open");
  auto fd = OpenInode(inode, flags);
  chmod(proc.c_str(), mode);
  return fd;
}

// Needs inode->content_mu held exclusively.
Status Filesystem::LoadContent(Inode* inode, int fd) {
  if (inode->content) return Status::Ok();
  // The header is read through a descriptor of its own with O_NOATIME, so that opening a
  // file without reading it leaves its access time alone, as on a local filesystem.
  auto quiet = OpenInode(inode, O_RDONLY | O_NOATIME);
  int header_fd = quiet.ok() ? quiet->get() : fd;
  MV_ASSIGN_OR_RETURN(
      inode->content,
      volume::FileContent::Load(header_fd, volume_->keys(), volume_->layout(), BackingPath(fd)));
  return Status::Ok();
}

Result<std::unique_ptr<FileHandle>> Filesystem::DoOpen(Inode* inode, int flags,
                                                       const Caller& caller) {
  auto fh = std::make_unique<FileHandle>();
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) {
    // Until the handle is counted, a freeze of a directory above must wait.
    std::shared_lock freezing(freeze_mu_);
    MV_RETURN_IF_ERROR(CheckMutable(inode, "open for writing"));
    inode->writers.fetch_add(1);
    fh->writer = inode;
  }
  MV_ASSIGN_OR_RETURN(UniqueFd fd, OpenBacking(inode, flags));
  bool loaded;
  {
    std::shared_lock lock(inode->content_mu);
    loaded = inode->content != nullptr;
  }
  // Opening a loaded file needs no exclusive lock, so it does not wait behind reads.
  std::unique_lock lock(inode->content_mu, std::defer_lock);
  if (!loaded || (flags & O_TRUNC)) lock.lock();
  if (!loaded) MV_RETURN_IF_ERROR(LoadContent(inode, fd.get()));
  // Linux truncates on O_TRUNC whatever the access mode; the kernel checked write permission.
  if (flags & O_TRUNC) {
    MV_RETURN_IF_ERROR(inode->content->Truncate(fd.get(), 0));
    // The kernel clears set-id bits for a truncate (OnInit), but not for the one it leaves
    // to an O_TRUNC open; root stands in for CAP_FSETID here.
    if (caller.uid != 0) MV_RETURN_IF_ERROR(DropSetIdBits(fd.get()));
  }
  if (std::shared_ptr<DirNode> node = inode->Node()) {
    MV_ASSIGN_OR_RETURN(fh->verifier, signed_.ForOpen(*node, fd.get(), *inode->content));
    if (fh->verifier) inode->signed_open = true;
  }
  fh->fd = std::move(fd);
  fh->append = (flags & O_APPEND) != 0;
  return fh;
}

Result<std::pair<fuse_entry_param, std::unique_ptr<FileHandle>>> Filesystem::DoCreate(
    Inode* parent, std::string_view name, mode_t mode, int flags, const Caller& caller) {
  MV_RETURN_IF_ERROR(CheckMutable(parent, "create"));
  MV_ASSIGN_OR_RETURN(auto enc, Encode(parent, name));
  MV_RETURN_IF_ERROR(PrepareName(parent, enc));
  int pfd = parent->fd.get();
  UniqueFd fd(openat(pfd, enc.backing.c_str(),
                     O_CREAT | O_EXCL | O_NOFOLLOW | BackingFlags(flags, false), mode & 07777));
  if (!fd.valid()) {
    if (errno != EEXIST || (flags & O_EXCL)) return Errno("create");
    // Someone else created it first: this is a plain open of their file.
    MV_ASSIGN_OR_RETURN(auto e, EntryFor(parent, enc.backing));
    auto fh = DoOpen(ToInode(e.ino), flags, caller);
    if (!fh.ok()) {
      inodes_.Forget(ToInode(e.ino), 1);
      return fh.status();
    }
    return std::make_pair(e, std::move(fh).value());
  }
  auto content = volume::FileContent::Create(fd.get(), volume_->keys(), volume_->layout(),
                                             BackingPath(fd.get()));
  Status st =
      content.ok() ? SetOwner(pfd, enc.backing, caller, parent, S_IFREG | mode) : content.status();
  MV_ASSIGN_OR_RETURN(auto e, Adopt(parent, enc, st));
  Inode* inode = ToInode(e.ino);
  {
    std::unique_lock lock(inode->content_mu);
    if (!inode->content) inode->content = std::move(content).value();
  }
  auto fh = std::make_unique<FileHandle>();
  {
    std::shared_lock freezing(freeze_mu_);
    Status still = CheckMutable(parent, "create");
    if (!still.ok()) {
      inodes_.Forget(inode, 1);
      return still;
    }
    inode->writers.fetch_add(1);
    fh->writer = inode;
  }
  fh->fd = std::move(fd);
  fh->append = (flags & O_APPEND) != 0;
  return std::make_pair(e, std::move(fh));
}

Result<size_t> Filesystem::DoRead(Inode* inode, FileHandle* fh, std::span<uint8_t> out,
                                  off_t offset) {
  std::shared_lock lock(inode->content_mu);
  if (!inode->content) return Status::FromErrno(EBADF, "read");
  // Atomic: a large read checks its parts on several threads.
  std::atomic<bool> signature_failed{false};
  volume::FileContent::BlockCheck check;
  if (fh->verifier) {
    check = [&verifier = *fh->verifier, &signature_failed](uint64_t index,
                                                           std::span<const uint8_t> stored) {
      Status st = verifier.CheckBlock(index, stored);
      if (!st.ok()) signature_failed = true;
      return st;
    };
  }
  Result<size_t> n = inode->content->Read(fh->fd.get(), out, static_cast<uint64_t>(offset), check);
  // A read that ends before it was asked to has met the end of the backing file, which for
  // a signed file must be the signed end: one cut at a block boundary reads as shorter.
  if (fh->verifier && n.ok() && *n < out.size()) {
    lock.unlock();
    struct stat st;
    if (fstat(fh->fd.get(), &st) != 0) return Errno("read");
    MV_RETURN_IF_ERROR(CheckSignedSize(inode, static_cast<uint64_t>(st.st_size)));
  }
  // A block off its signed Merkle leaf is a signature failure, counted by the signed tree;
  // any other Corruption is a block that failed authentication.
  if (!n.ok() && n.status().code() == Code::kCorruption && !signature_failed) {
    counters_.CountAuthFailure();
  }
  return n;
}

Result<size_t> Filesystem::DoWrite(Inode* inode, FileHandle* fh, std::span<const uint8_t> in,
                                   off_t offset) {
  MV_RETURN_IF_ERROR(CheckMutable(inode, "write"));
  std::unique_lock lock(inode->content_mu);
  if (!inode->content) return Status::FromErrno(EBADF, "write");
  inode->signed_open = false;  // changed on purpose (its directory is unfrozen)
  uint64_t at = static_cast<uint64_t>(offset);
  MV_RETURN_IF_ERROR(CheckFileSize(at + in.size()));
  // With the writeback cache the kernel tracks the end of file and sends appends (in any
  // order) at their real offsets; only without it must the daemon place them.
  if (fh->append && !writeback_cache_) {
    MV_ASSIGN_OR_RETURN(at, inode->content->Size(fh->fd.get()));
  }
  MV_RETURN_IF_ERROR(inode->content->Write(fh->fd.get(), in, at));
  return in.size();
}

Status Filesystem::DoFsync(FileHandle* fh, bool datasync) {
  int rc = datasync ? fdatasync(fh->fd.get()) : fsync(fh->fd.get());
  if (rc != 0) return Errno("fsync");
  return Status::Ok();
}

Status Filesystem::Truncate(Inode* inode, FileHandle* fh, off_t size) {
  if (inode->type == S_IFDIR) return Status::FromErrno(EISDIR, "truncate");
  if (inode->type != S_IFREG) return Status::FromErrno(EINVAL, "truncate");
  if (size < 0) return Status::FromErrno(EINVAL, "truncate");
  MV_RETURN_IF_ERROR(CheckFileSize(static_cast<uint64_t>(size)));
  UniqueFd own;
  int fd = fh ? fh->fd.get() : -1;
  if (fd < 0) {
    MV_ASSIGN_OR_RETURN(own, OpenBacking(inode, O_RDWR));
    fd = own.get();
  }
  std::unique_lock lock(inode->content_mu);
  MV_RETURN_IF_ERROR(LoadContent(inode, fd));
  inode->signed_open = false;  // changed on purpose (its directory is unfrozen)
  return inode->content->Truncate(fd, static_cast<uint64_t>(size));
}

Status Filesystem::CheckFileSize(uint64_t plain_size) const {
  // The backing file is never smaller than the plaintext, so the first test also keeps
  // BackingSize() from overflowing.
  if (plain_size > max_backing_file_ ||
      volume_->layout().BackingSize(plain_size) > max_backing_file_) {
    return Status::FromErrno(EFBIG, "file larger than the backing filesystem allows");
  }
  return Status::Ok();
}

Status Filesystem::DoFallocate(Inode* inode, FileHandle* fh, int mode, off_t offset, off_t length) {
  MV_RETURN_IF_ERROR(CheckMutable(inode, "fallocate"));
  if ((mode & ~FALLOC_FL_KEEP_SIZE) != 0) return Status::FromErrno(EOPNOTSUPP, "fallocate");
  if (offset < 0 || length <= 0) return Status::FromErrno(EINVAL, "fallocate");
  uint64_t end = static_cast<uint64_t>(offset) + static_cast<uint64_t>(length);
  MV_RETURN_IF_ERROR(CheckFileSize(end));
  std::unique_lock lock(inode->content_mu);
  if (!inode->content) return Status::FromErrno(EBADF, "fallocate");
  MV_ASSIGN_OR_RETURN(uint64_t size, inode->content->Size(fh->fd.get()));
  if (end <= size) return Status::Ok();
  if (mode & FALLOC_FL_KEEP_SIZE) {
    // Reserve the backing space the blocks will need; the visible size stays.
    auto backing_end = volume_->layout().BackingSize(end);
    if (fallocate(fh->fd.get(), FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(backing_end)) != 0) {
      return Errno("fallocate");
    }
    return Status::Ok();
  }
  return inode->content->Truncate(fh->fd.get(), end);
}

Result<struct stat> Filesystem::DoSetattr(Inode* inode, const struct stat& attr, int to_set,
                                          FileHandle* fh) {
  MV_RETURN_IF_ERROR(CheckMutable(inode, "setattr"));
  // Through the caller's open file where there is one: it reaches the object whatever
  // happened to its names.
  Result<PathRef> found =
      fh != nullptr && fh->fd.valid() ? Result<PathRef>(PathRef(fh->fd.get())) : PathOf(inode);
  constexpr int kTimes = FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
                         FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME;
  if (!found.ok() && found.status().ToErrno() == ENOENT && (to_set & ~kTimes) == 0) {
    // The kernel writing back times it cached for a file that is gone: refusing would leave
    // an error for the next syncfs of the whole mount, and nothing can read the times now.
    struct stat gone {};
    gone.st_ino = inode->ino;
    gone.st_mode = inode->type;
    gone.st_atim = attr.st_atim;
    gone.st_mtim = attr.st_mtim;
    return gone;
  }
  MV_RETURN_IF_ERROR(found.status());
  PathRef path = std::move(found).value();
  int fd = path.get();
  if (to_set & FUSE_SET_ATTR_MODE) {
    if (inode->type == S_IFLNK) return Status::FromErrno(EOPNOTSUPP, "chmod");
    if (chmod(ProcPath(fd).c_str(), attr.st_mode & 07777) != 0) return Errno("chmod");
  }
  if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
    uid_t uid = (to_set & FUSE_SET_ATTR_UID) ? attr.st_uid : static_cast<uid_t>(-1);
    gid_t gid = (to_set & FUSE_SET_ATTR_GID) ? attr.st_gid : static_cast<gid_t>(-1);
    if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
      return Errno("chown");
    }
  }
  if (to_set & FUSE_SET_ATTR_SIZE) MV_RETURN_IF_ERROR(Truncate(inode, fh, attr.st_size));
  if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
    struct timespec tv[2];
    tv[0].tv_sec = tv[1].tv_sec = 0;
    tv[0].tv_nsec = tv[1].tv_nsec = UTIME_OMIT;
    if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
      tv[0].tv_nsec = UTIME_NOW;
    } else if (to_set & FUSE_SET_ATTR_ATIME) {
      tv[0] = attr.st_atim;
    }
    if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
      tv[1].tv_nsec = UTIME_NOW;
    } else if (to_set & FUSE_SET_ATTR_MTIME) {
      tv[1] = attr.st_mtim;
    }
    if (utimensat(AT_FDCWD, ProcPath(fd).c_str(), tv, 0) != 0) return Errno("utimens");
  }
  return DoGetattr(inode);
}

void Filesystem::AfterInit() {
  std::call_once(after_init_, [this] { SetReadahead(options_.mountpoint, options_.readahead_kb); });
}

void Filesystem::SyncBacking() {
  // syncfs() needs a descriptor opened for real; O_PATH ones are refused.
  UniqueFd fd(open(volume_->backing_dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid()) syncfs(fd.get());
}

Status Filesystem::CheckMutable(Inode* inode, std::string_view what) {
  std::shared_ptr<DirNode> node = inode->Node();
  if (node && signed_.Frozen(*node)) {
    return Status::FromErrno(EROFS, std::string(what) + " in a frozen (signed) directory");
  }
  return Status::Ok();
}

Status Filesystem::CheckNotFrozenDir(Inode* parent, const std::string& backing,
                                     std::string_view what) {
  std::string marker = backing + "/" + volume::kFrozenMarker;
  struct stat st;
  if (fstatat(parent->fd.get(), marker.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    return Status::FromErrno(EROFS, std::string(what) + " of a frozen (signed) directory");
  }
  return Status::Ok();
}

}  // namespace modelvault::fs
