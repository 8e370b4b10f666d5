// Filesystem: the store as the kernel sees it, one method per FUSE request family. Internal
// to fs/. Methods named DoX() compute a Result; the OnX() callbacks in fuse_ops.cc reply.
//
// Every backing object is addressed through its parent's O_PATH descriptor and its encoded
// name (volume::NameCodec); content goes through volume::FileContent under the inode's
// content lock. Thread-safe: requests run concurrently on the session's threads.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <ctime>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "fs/access_gate.h"
#include "fs/backing_limits.h"
#include "fs/handle_registry.h"
#include "fs/inode_table.h"
#include "fs/mount_counters.h"
#include "fs/mount_options.h"
#include "volume/volume.h"

namespace modelvault::fs {

// Who is asking, from fuse_req_ctx.
struct Caller {
  uid_t uid = 0;
  gid_t gid = 0;
  fuse_req_t req = nullptr;  // for the supplementary groups, looked up only when needed
  bool InGroup(gid_t group) const;
};

// A descriptor of an inode's backing object for the length of one operation: borrowed from
// the Inode, or opened from its file handle and closed with this object.
class PathRef {
 public:
  explicit PathRef(int borrowed) : fd_(borrowed) {}
  explicit PathRef(UniqueFd owned) : fd_(owned.get()), owned_(std::move(owned)) {}
  int get() const { return fd_; }

 private:
  int fd_;
  UniqueFd owned_;
};

// An open regular file: its own read-write descriptor of the backing file.
struct FileHandle {
  UniqueFd fd;
  bool append = false;
  std::shared_ptr<const FileVerifier> verifier;  // files in a signed directory
  Inode* writer = nullptr;  // counted in writer->writers while the handle lives
  FileHandle() = default;
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  ~FileHandle() {
    if (writer != nullptr) writer->writers.fetch_sub(1);
  }
};

class Filesystem {
 public:
  static Result<std::unique_ptr<Filesystem>> New(std::unique_ptr<volume::Volume> volume,
                                                 const MountOptions& options);

  Inode* ToInode(fuse_ino_t ino);
  const MountOptions& options() const { return options_; }
  const AccessGate& gate() const { return gate_; }
  SignedTree& signed_tree() { return signed_; }
  // What the daemon counts (mount_counters.h), and when it started serving.
  MountCounters& counters() { return counters_; }
  std::time_t start_time() const { return start_time_; }
  // EROFS if `inode` lies in a frozen directory (signed_tree.h).
  Status CheckMutable(Inode* inode, std::string_view what);
  // EROFS if the directory `name` in `parent` is itself frozen.
  Status CheckNotFrozenDir(Inode* parent, const std::string& backing, std::string_view what);
  // How long the kernel may cache the attributes of `ino`: the root's not at all on a
  // shared mount (the root is never looked up, so the gate would not see a second user's
  // stat of it; access_gate.h).
  double AttrTimeout(fuse_ino_t ino) const {
    return ino == FUSE_ROOT_ID && shared_ ? 0.0 : options_.attr_timeout;
  }
  // Set once by the INIT request, before any other request is served.
  void set_writeback_cache(bool on) { writeback_cache_ = on; }
  // Runs once, on the first request after INIT: the kernel sends nothing else before it has
  // processed the INIT reply, so settings it would reset are safe to make from here.
  void AfterInit();
  InodeTable& inodes() { return inodes_; }
  HandleRegistry& handles() { return handles_; }

  // Entries (fs_entries.cc).
  Result<fuse_entry_param> DoLookup(Inode* parent, std::string_view name);
  Result<struct stat> DoGetattr(Inode* inode);
  Result<struct stat> DoSetattr(Inode* inode, const struct stat& attr, int to_set, FileHandle* fh);
  Result<fuse_entry_param> DoMknod(Inode* parent, std::string_view name, mode_t mode, dev_t rdev,
                                   const Caller& caller);
  Result<fuse_entry_param> DoMkdir(Inode* parent, std::string_view name, mode_t mode,
                                   const Caller& caller);
  Result<fuse_entry_param> DoSymlink(std::string_view target, Inode* parent, std::string_view name,
                                     const Caller& caller);
  Result<fuse_entry_param> DoLink(Inode* inode, Inode* parent, std::string_view name);
  Status DoUnlink(Inode* parent, std::string_view name);
  Status DoRmdir(Inode* parent, std::string_view name);
  Status DoRename(Inode* parent, std::string_view name, Inode* new_parent,
                  std::string_view new_name, unsigned int flags);
  Result<std::string> DoReadlink(Inode* inode);
  Result<struct statvfs> DoStatfs();

  // Files (fs_files.cc).
  Result<std::unique_ptr<FileHandle>> DoOpen(Inode* inode, int flags, const Caller& caller);
  Result<std::pair<fuse_entry_param, std::unique_ptr<FileHandle>>> DoCreate(Inode* parent,
                                                                            std::string_view name,
                                                                            mode_t mode, int flags,
                                                                            const Caller& caller);
  Result<size_t> DoRead(Inode* inode, FileHandle* fh, std::span<uint8_t> out, off_t offset);
  Result<size_t> DoWrite(Inode* inode, FileHandle* fh, std::span<const uint8_t> in, off_t offset);
  Status DoFsync(FileHandle* fh, bool datasync);
  Status DoFallocate(Inode* inode, FileHandle* fh, int mode, off_t offset, off_t length);

  // Directories (fs_dirs.cc) live in DirReader; names are decoded through these.
  Result<volume::DirId> DirIdOf(Inode* dir);
  Result<std::string> DecodeEntry(int dirfd, const volume::DirId& dir_id,
                                  std::string_view backing_name);
  const volume::Volume& volume() const { return *volume_; }

  // Extended attributes (fs_xattrs.cc).
  Status DoSetxattr(Inode* inode, std::string_view name, std::span<const uint8_t> value, int flags);
  Result<std::vector<uint8_t>> DoGetxattr(Inode* inode, std::string_view name);
  Result<std::string> DoListxattr(Inode* inode);
  Status DoRemovexattr(Inode* inode, std::string_view name);
  // The control attributes (control.h).
  Status DoControl(Inode* inode, std::string_view name, std::span<const uint8_t> value);
  Result<std::vector<uint8_t>> ReadControl(Inode* inode, std::string_view name);

  // Syncs the backing filesystem (at unmount).
  void SyncBacking();

 private:
  Filesystem(std::unique_ptr<volume::Volume> volume, MountOptions options);

  Result<volume::EncodedName> Encode(Inode* parent, std::string_view name);
  // An O_PATH descriptor of the inode's backing object.
  Result<PathRef> PathOf(Inode* inode);
  // The inode's backing object opened with `flags`.
  Result<UniqueFd> OpenInode(Inode* inode, int flags);
  // The file handle to keep for a new non-directory inode, or empty to keep `fd` instead.
  std::vector<unsigned char> HandleFor(int fd, const struct stat& st);
  // Makes the sidecar of a long name exist before the entry is created under it.
  Status PrepareName(Inode* parent, const volume::EncodedName& name);
  void DropLongName(Inode* parent, const volume::EncodedName& name);
  // Around the removal or replacement of the entry `backing` in `parent`: a file the kernel
  // knows is held before, and if that removed its last link, its inode keeps it after
  // (Inode::KeepOrphan).
  UniqueFd HoldBeforeRemoval(Inode* parent, const std::string& backing);
  void KeepIfOrphaned(UniqueFd held);
  Result<fuse_entry_param> EntryFor(Inode* parent, const std::string& backing);
  // After a rename: the object now at `backing` in `parent` has its node moved there.
  void RelinkMoved(Inode* parent, const std::string& backing);
  Result<fuse_entry_param> Adopt(Inode* parent, const volume::EncodedName& enc, const Status& made);
  // The object's attributes as the mount shows them; `backing_size` gets its size on disk.
  Result<struct stat> StatFd(int fd, uint64_t* backing_size = nullptr);
  // EIO if `inode` is open as a signed file and `backing_size` is not its signed size.
  Status CheckSignedSize(Inode* inode, uint64_t backing_size);
  Result<std::string> ReadlinkFd(int fd);
  Status TranslateStat(struct stat* st, int fd);
  Status SetOwner(int dirfd, const std::string& backing, const Caller& caller, Inode* parent,
                  mode_t mode);
  Status LoadContent(Inode* inode, int fd);
  Result<UniqueFd> OpenBacking(Inode* inode, int flags);
  Result<UniqueFd> OpenLendingAccess(Inode* inode, int flags);
  Status Truncate(Inode* inode, FileHandle* fh, off_t size);
  // EFBIG if a file of `plain_size` bytes would not fit in a backing file (backing_limits.h).
  Status CheckFileSize(uint64_t plain_size) const;
  Result<std::string> XattrName(std::string_view name);

  std::unique_ptr<volume::Volume> volume_;
  MountOptions options_;
  const bool shared_;  // users other than the one who mounted may enter (IsShared)
  const AccessGate gate_;
  MountCounters counters_;
  const std::time_t start_time_;
  SignedTree signed_;  // after counters_: it counts its failures there
  // Shared by opens for writing, exclusive while a directory is frozen, so that no file
  // under it is opened for writing between the check and the freeze.
  std::shared_mutex freeze_mu_;
  InodeTable inodes_;
  // After inodes_, so destroyed first: a file handle left open refers to its inode.
  HandleRegistry handles_;
  bool writeback_cache_ = false;
  // A plain descriptor of the backing root, the mount_fd of open_by_handle_at().
  UniqueFd mount_fd_;
  bool use_handles_ = false;
  // The largest backing file this daemon can make (backing_limits.h).
  uint64_t max_backing_file_ = kNoBackingLimit;
  std::once_flag after_init_;
};

// "/proc/self/fd/N": how a path-taking system call reaches an O_PATH descriptor.
std::string ProcPath(int fd);
// The file handle of the object `fd` refers to (a struct file_handle), or empty.
std::vector<unsigned char> RawHandle(int fd);
// The backing path `fd` refers to now, for log lines and error messages.
std::string BackingPath(int fd);

}  // namespace modelvault::fs
