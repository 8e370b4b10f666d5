// Name-space requests: lookup, attributes, creation and removal of entries, renames.
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "base/file_util.h"
#include "base/log.h"
#include "crypto/hex.h"
#include "crypto/random.h"
#include "fs/filesystem.h"
#include "volume/dir_id.h"

namespace modelvault::fs {
namespace {

Status Errno(std::string_view what) { return Status::FromErrno(errno, what); }

// A name for a directory that is being built, invisible to listings (it contains '.').
Result<std::string> TempName() {
  uint8_t bytes[8];
  MV_RETURN_IF_ERROR(crypto::RandomBytes(bytes));
  return ".tmp." + crypto::HexEncode(bytes);
}

// Each directory the kernel keeps cached (and each file, where file handles cannot be
// used) holds a descriptor here; running out of them shows up as EMFILE in some unrelated
// request, so it is said once a minute in the log.
void WarnDescriptorLimit() {
  static std::atomic<int64_t> last{0};
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  int64_t before = last.load();
  if (now - before < 60 || !last.compare_exchange_strong(before, now)) return;
  struct rlimit files = {};
  getrlimit(RLIMIT_NOFILE, &files);
  LogWarning("out of file descriptors (limit " + std::to_string(files.rlim_cur) +
             "): every directory the kernel caches holds one; raise the daemon's RLIMIT_NOFILE "
             "(LimitNOFILE= under systemd)");
}

}  // namespace

std::string ProcPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Filesystem::Filesystem(std::unique_ptr<volume::Volume> volume, MountOptions options)
    : volume_(std::move(volume)),
      options_(std::move(options)),
      shared_(IsShared(options_)),
      gate_(options_.access, options_.on_denied),
      start_time_(std::time(nullptr)),
      signed_(options_.signatures,
              [this, report = options_.on_signature_failure](
                  std::string_view what, const std::string& dir, const std::string& detail) {
                counters_.CountSignatureFailure(what);
                if (report) report(what, dir, detail);
              }) {
  // A dentry cached for one user would answer another user's path walk without a request
  // (access_gate.h); with entry_timeout 0 the kernel revalidates with a LOOKUP every time.
  if (shared_) options_.entry_timeout = 0;
}

Result<std::unique_ptr<Filesystem>> Filesystem::New(std::unique_ptr<volume::Volume> volume,
                                                    const MountOptions& options) {
  std::string root = volume->backing_dir();
  UniqueFd fd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, root);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, root);
  std::unique_ptr<Filesystem> fs(new Filesystem(std::move(volume), options));
  fs->mount_fd_.Reset(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fs->mount_fd_.valid()) return Status::FromErrno(errno, root);
  // Handles need CAP_DAC_READ_SEARCH to be opened; try once with the root itself.
  auto probe = RawHandle(fd.get());
  if (!probe.empty()) {
    UniqueFd opened(open_by_handle_at(fs->mount_fd_.get(),
                                      reinterpret_cast<struct file_handle*>(probe.data()),
                                      O_PATH | O_CLOEXEC));
    fs->use_handles_ = opened.valid();
  }
  if (!options.read_only) fs->max_backing_file_ = LargestBackingFile(fs->mount_fd_.get());
  int root_fd = fd.get();
  fs->inodes_.SetRoot(std::move(fd), st);
  fs->inodes_.root()->node = fs->signed_.NewNode(nullptr, "", true, root_fd);
  return fs;
}

std::vector<unsigned char> Filesystem::HandleFor(int fd, const struct stat& st) {
  if (S_ISDIR(st.st_mode) || st.st_dev != inodes_.root_dev()) return {};
  return RawHandle(fd);
}

std::vector<unsigned char> RawHandle(int fd) {
  std::vector<unsigned char> buf(sizeof(struct file_handle) + MAX_HANDLE_SZ);
  auto* fh = reinterpret_cast<struct file_handle*>(buf.data());
  fh->handle_bytes = MAX_HANDLE_SZ;
  int mount_id = 0;
  if (name_to_handle_at(fd, "", fh, &mount_id, AT_EMPTY_PATH) != 0) return {};
  buf.resize(sizeof(struct file_handle) + fh->handle_bytes);
  return buf;
}

Result<PathRef> Filesystem::PathOf(Inode* inode) {
  if (inode->fd.valid()) return PathRef(inode->fd.get());
  if (int kept = inode->Orphan(); kept >= 0) return PathRef(kept);
  MV_ASSIGN_OR_RETURN(UniqueFd fd, OpenInode(inode, O_PATH));
  return PathRef(std::move(fd));
}

Result<UniqueFd> Filesystem::OpenInode(Inode* inode, int flags) {
  UniqueFd fd;
  int kept = inode->fd.valid() ? inode->fd.get() : inode->Orphan();
  if (kept >= 0) {
    fd.Reset(open(ProcPath(kept).c_str(), flags | O_CLOEXEC));
  } else {
    auto* fh = reinterpret_cast<struct file_handle*>(inode->handle.data());
    fd.Reset(open_by_handle_at(mount_fd_.get(), fh, flags | O_CLOEXEC));
  }
  if (!fd.valid()) {
    // A handle of a removed object is stale; to the caller the object is gone.
    return Status::FromErrno(errno == ESTALE ? ENOENT : errno, "open");
  }
  return fd;
}

Inode* Filesystem::ToInode(fuse_ino_t ino) {
  if (ino == FUSE_ROOT_ID) return inodes_.root();
  return reinterpret_cast<Inode*>(ino);
}

Result<volume::DirId> Filesystem::DirIdOf(Inode* dir) {
  std::lock_guard lock(dir->dir_mu);
  if (!dir->dir_id) {
    MV_ASSIGN_OR_RETURN(auto id, volume::ReadDirId(dir->fd.get(), BackingPath(dir->fd.get())));
    dir->dir_id = id;
  }
  return *dir->dir_id;
}

Result<volume::EncodedName> Filesystem::Encode(Inode* parent, std::string_view name) {
  if (parent->type != S_IFDIR) return Status::FromErrno(ENOTDIR, "not a directory");
  MV_ASSIGN_OR_RETURN(auto dir_id, DirIdOf(parent));
  return volume_->names().Encode(dir_id, name);
}

// The sidecar of a long name must hold the full sealed name before its entry exists, and
// survive a crash with it: it is written once, synced, and never rewritten in place (an
// existing one with other contents is replaced by rename).
Status Filesystem::PrepareName(Inode* parent, const volume::EncodedName& name) {
  if (!name.is_long()) return Status::Ok();
  int pfd = parent->fd.get();
  std::string sidecar = volume::NameCodec::LongNameSidecar(name.backing);
  auto bytes = std::span(reinterpret_cast<const uint8_t*>(name.sealed.data()), name.sealed.size());
  UniqueFd existing(openat(pfd, sidecar.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (existing.valid()) {
    std::vector<uint8_t> have(bytes.size() + 1);
    auto n = PreadFull(existing.get(), have, 0);
    if (n.ok() && *n == bytes.size() && std::equal(bytes.begin(), bytes.end(), have.begin())) {
      return Status::Ok();
    }
  }
  MV_ASSIGN_OR_RETURN(std::string tmp, TempName());
  UniqueFd fd(openat(pfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400));
  if (!fd.valid()) return Errno("writing long-name sidecar");
  Status st = PwriteFull(fd.get(), bytes, 0);
  if (st.ok() && fsync(fd.get()) != 0) st = Errno("syncing long-name sidecar");
  if (st.ok() && renameat(pfd, tmp.c_str(), pfd, sidecar.c_str()) != 0) {
    st = Errno("placing long-name sidecar");
  }
  if (!st.ok()) unlinkat(pfd, tmp.c_str(), 0);
  return st;
}

void Filesystem::DropLongName(Inode* parent, const volume::EncodedName& name) {
  if (!name.is_long()) return;
  std::string sidecar = volume::NameCodec::LongNameSidecar(name.backing);
  unlinkat(parent->fd.get(), sidecar.c_str(), 0);
}

Status Filesystem::TranslateStat(struct stat* st, int fd) {
  if (S_ISREG(st->st_mode)) {
    st->st_size = static_cast<off_t>(volume_->layout().PlainSize(st->st_size));
  } else if (S_ISLNK(st->st_mode)) {
    // A target that fails authentication keeps its sealed length here; readlink reports
    // the error, so the link can still be listed and removed.
    auto target = ReadlinkFd(fd);
    if (target.ok()) st->st_size = static_cast<off_t>(target->size());
  }
  return Status::Ok();
}

Result<struct stat> Filesystem::StatFd(int fd, uint64_t* backing_size) {
  struct stat st;
  if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return Errno("stat");
  if (backing_size != nullptr) *backing_size = static_cast<uint64_t>(st.st_size);
  MV_RETURN_IF_ERROR(TranslateStat(&st, fd));
  return st;
}

Result<fuse_entry_param> Filesystem::EntryFor(Inode* parent, const std::string& backing) {
  UniqueFd fd(openat(parent->fd.get(), backing.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == EMFILE || errno == ENFILE) WarnDescriptorLimit();
    return Errno("lookup");
  }
  uint64_t backing_size = 0;
  MV_ASSIGN_OR_RETURN(struct stat st, StatFd(fd.get(), &backing_size));
  fuse_entry_param e;
  std::memset(&e, 0, sizeof(e));
  auto handle = use_handles_ ? HandleFor(fd.get(), st) : std::vector<unsigned char>();
  Inode* inode = inodes_.Lookup(std::move(fd), std::move(handle), st);
  {
    std::shared_ptr<DirNode> parent_node = parent->Node();
    std::lock_guard lock(inode->node_mu);
    if (!inode->node) {
      bool dir = S_ISDIR(st.st_mode);
      inode->node = signed_.NewNode(parent_node, backing, dir, dir ? inode->fd.get() : -1);
    } else {
      signed_.Relink(*inode->node, parent_node, backing);
      if (S_ISDIR(st.st_mode)) signed_.Revisit(*inode->node, inode->fd.get());
    }
  }
  if (Status size = CheckSignedSize(inode, backing_size); !size.ok()) {
    inodes_.Forget(inode, 1);
    return size;
  }
  e.ino = reinterpret_cast<fuse_ino_t>(inode);
  e.attr = st;
  e.attr_timeout = AttrTimeout(e.ino);
  e.entry_timeout = options_.entry_timeout;
  return e;
}

Result<fuse_entry_param> Filesystem::DoLookup(Inode* parent, std::string_view name) {
  MV_ASSIGN_OR_RETURN(auto enc, Encode(parent, name));
  return EntryFor(parent, enc.backing);
}

Result<struct stat> Filesystem::DoGetattr(Inode* inode) {
  MV_ASSIGN_OR_RETURN(PathRef path, PathOf(inode));
  uint64_t backing_size = 0;
  MV_ASSIGN_OR_RETURN(struct stat st, StatFd(path.get(), &backing_size));
  MV_RETURN_IF_ERROR(CheckSignedSize(inode, backing_size));
  return st;
}

Status Filesystem::CheckSignedSize(Inode* inode, uint64_t backing_size) {
  if (!inode->signed_open.load()) return Status::Ok();
  std::shared_ptr<DirNode> node = inode->Node();
  return node ? signed_.CheckSize(*node, backing_size) : Status::Ok();
}

// Gives a new object to its creator, as a local filesystem would: the caller's uid, the
// caller's gid or the parent's where the parent is setgid. chown(2) clears the set-id bits
// of what it changes, so the requested ones are put back; like the kernel's
// inode_init_owner(), a new file keeps setgid only if its creator belongs to its group.
Status Filesystem::SetOwner(int dirfd, const std::string& backing, const Caller& caller,
                            Inode* parent, mode_t mode) {
  if (geteuid() != 0) return Status::Ok();  // an unprivileged daemon owns what it creates
  struct stat pst;
  if (fstatat(parent->fd.get(), "", &pst, AT_EMPTY_PATH) != 0) return Errno("stat parent");
  bool inherit = (pst.st_mode & S_ISGID) != 0;
  gid_t gid = inherit ? pst.st_gid : caller.gid;
  if (fchownat(dirfd, backing.c_str(), caller.uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return Errno("chown");
  }
  if (S_ISLNK(mode)) return Status::Ok();
  mode_t want = mode & 07777;
  if (S_ISDIR(mode)) {
    want = (want & 01777) | (inherit ? S_ISGID : 0);
  } else if ((want & S_ISGID) && caller.uid != 0 && !caller.InGroup(gid)) {
    want &= ~S_ISGID;
  }
  if ((want & (S_ISUID | S_ISGID)) == 0) return Status::Ok();
  if (fchmodat(dirfd, backing.c_str(), want, 0) != 0) return Errno("chmod");
  return Status::Ok();
}

Result<fuse_entry_param> Filesystem::DoMknod(Inode* parent, std::string_view name, mode_t mode,
                                             dev_t rdev, const Caller& caller) {
  MV_RETURN_IF_ERROR(CheckMutable(parent, "mknod"));
  if (S_ISREG(mode)) {
    MV_ASSIGN_OR_RETURN(auto created, DoCreate(parent, name, mode, O_EXCL | O_WRONLY, caller));
    return created.first;
  }
  MV_ASSIGN_OR_RETURN(auto enc, Encode(parent, name));
  MV_RETURN_IF_ERROR(PrepareName(parent, enc));
  if (mknodat(parent->fd.get(), enc.backing.c_str(), mode, rdev) != 0) return Errno("mknod");
  return Adopt(parent, enc, SetOwner(parent->fd.get(), enc.backing, caller, parent, mode));
}

// Finishes the creation of the entry `enc`: on any failure after the backing object was
// made, the object goes again, so a failed request leaves nothing behind.
Result<fuse_entry_param> Filesystem::Adopt(Inode* parent, const volume::EncodedName& enc,
                                           const Status& made) {
  auto e = made.ok() ? EntryFor(parent, enc.backing) : Result<fuse_entry_param>(made);
  if (!e.ok()) {
    unlinkat(parent->fd.get(), enc.backing.c_str(), 0);
    DropLongName(parent, enc);
  }
  return e;
}

// A directory is built under a temporary name with its ID file inside and then renamed into
// place, so no crash can leave a visible directory without an ID.
Result<fuse_entry_param> Filesystem::DoMkdir(Inode* parent, std::string_view name, mode_t mode,
                                             const Caller& caller) {
  MV_RETURN_IF_ERROR(CheckMutable(parent, "mkdir"));
  MV_ASSIGN_OR_RETURN(auto enc, Encode(parent, name));
  MV_ASSIGN_OR_RETURN(std::string tmp, TempName());
  int pfd = parent->fd.get();
  // Built open to its owner, so that a daemon without root can put the ID file in; the
  // mode asked for (0555, say) comes after.
  if (mkdirat(pfd, tmp.c_str(), S_IRWXU) != 0) return Errno("mkdir");
  Status st = [&]() -> Status {
    UniqueFd dfd(openat(pfd, tmp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dfd.valid()) return Errno("mkdir");
    MV_ASSIGN_OR_RETURN(auto id, volume::NewDirId());
    MV_RETURN_IF_ERROR(volume::WriteDirId(dfd.get(), id, BackingPath(dfd.get())));
    struct stat made;
    if (fstat(dfd.get(), &made) != 0) return Errno("mkdir");
    // Set-group-ID comes from a set-group-ID parent, as the backing filesystem gave it.
    if (fchmod(dfd.get(), (mode & 01777) | (made.st_mode & S_ISGID)) != 0) return Errno("mkdir");
    MV_RETURN_IF_ERROR(SetOwner(pfd, tmp, caller, parent, S_IFDIR | mode));
    MV_RETURN_IF_ERROR(PrepareName(parent, enc));
    if (renameat2(pfd, tmp.c_str(), pfd, enc.backing.c_str(), RENAME_NOREPLACE) != 0) {
      return Errno("mkdir");
    }
    return Status::Ok();
  }();
  if (!st.ok()) {
    fchmodat(pfd, tmp.c_str(), S_IRWXU, 0);
    UniqueFd dfd(openat(pfd, tmp.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (dfd.valid()) unlinkat(dfd.get(), volume::kDirIdFile, 0);
    unlinkat(pfd, tmp.c_str(), AT_REMOVEDIR);
    return st;
  }
  return EntryFor(parent, enc.backing);
}

Result<fuse_entry_param> Filesystem::DoSymlink(std::string_view target, Inode* parent,
                                               std::string_view name, const Caller& caller) {
  MV_RETURN_IF_ERROR(CheckMutable(parent, "symlink"));
  MV_ASSIGN_OR_RETURN(auto enc, Encode(parent, name));
  MV_ASSIGN_OR_RETURN(std::string sealed, volume_->names().EncodeLinkTarget(target));
  if (sealed.size() >= PATH_MAX) return Status::FromErrno(ENAMETOOLONG, "symlink target");
  MV_RETURN_IF_ERROR(PrepareName(parent, enc));
  if (symlinkat(sealed.c_str(), parent->fd.get(), enc.backing.c_str()) != 0) {
    return Errno("symlink");
  }
  return Adopt(parent, enc, SetOwner(parent->fd.get(), enc.backing, caller, parent, S_IFLNK));
}

Result<fuse_entry_param> Filesystem::DoLink(Inode* inode, Inode* parent, std::string_view name) {
  MV_RETURN_IF_ERROR(CheckMutable(parent, "link"));
  MV_RETURN_IF_ERROR(CheckMutable(inode, "link"));
  MV_ASSIGN_OR_RETURN(auto enc, Encode(parent, name));
  MV_RETURN_IF_ERROR(PrepareName(parent, enc));
  MV_ASSIGN_OR_RETURN(PathRef path, PathOf(inode));
  if (linkat(path.get(), "", parent->fd.get(), enc.backing.c_str(), AT_EMPTY_PATH) != 0) {
    return Errno("link");
  }
  return Adopt(parent, enc, Status::Ok());
}

UniqueFd Filesystem::HoldBeforeRemoval(Inode* parent, const std::string& backing) {
  struct stat st;
  if (fstatat(parent->fd.get(), backing.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
  if (!S_ISREG(st.st_mode)) return {};
  bool known = false;
  inodes_.ForKey(st.st_dev, st.st_ino, [&](Inode* inode) { known = !inode->fd.valid(); });
  if (!known) return {};
  return UniqueFd(openat(parent->fd.get(), backing.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
}

void Filesystem::KeepIfOrphaned(UniqueFd held) {
  // Checked after the removal, not before: two removals of a file's last two links at once
  // each see the other link before, but the second sees none after.
  struct stat st;
  if (!held.valid() || fstat(held.get(), &st) != 0 || st.st_nlink != 0) return;
  inodes_.ForKey(st.st_dev, st.st_ino, [&](Inode* inode) { inode->KeepOrphan(std::move(held)); });
}

Status Filesystem::DoUnlink(Inode* parent, std::string_view name) {
  MV_RETURN_IF_ERROR(CheckMutable(parent, "unlink"));
  MV_ASSIGN_OR_RETURN(auto enc, Encode(parent, name));
  UniqueFd held = HoldBeforeRemoval(parent, enc.backing);
  if (unlinkat(parent->fd.get(), enc.backing.c_str(), 0) != 0) return Errno("unlink");
  KeepIfOrphaned(std::move(held));
  DropLongName(parent, enc);
  return Status::Ok();
}

Result<std::string> Filesystem::ReadlinkFd(int fd) {
  char buf[PATH_MAX];
  ssize_t n = readlinkat(fd, "", buf, sizeof(buf));
  if (n < 0) return Errno("readlink");
  std::string_view sealed(buf, static_cast<size_t>(n));
  auto target = volume_->names().DecodeLinkTarget(sealed);
  if (!target.ok()) {
    std::string msg = BackingPath(fd) + ": symlink target failed authentication";
    LogError(msg);
    return Status::Corruption(msg);
  }
  return std::move(target).value();
}

Result<std::string> Filesystem::DoReadlink(Inode* inode) {
  MV_ASSIGN_OR_RETURN(PathRef path, PathOf(inode));
  return ReadlinkFd(path.get());
}

Result<struct statvfs> Filesystem::DoStatfs() {
  struct statvfs sv;
  if (fstatvfs(inodes_.root()->fd.get(), &sv) != 0) return Errno("statfs");
  sv.f_namemax = volume::kMaxPlainName;
  return sv;
}

std::string BackingPath(int fd) {
  char buf[PATH_MAX];
  ssize_t n = readlink(ProcPath(fd).c_str(), buf, sizeof(buf) - 1);
  if (n < 0) return "backing file";
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace modelvault::fs
