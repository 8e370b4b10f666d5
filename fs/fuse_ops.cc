// The libfuse low-level callbacks. Each OnX() unpacks the request, calls Filesystem::DoX()
// and replies; this is the only place that turns a Status into an errno for the kernel.
#include "fs/fuse_ops.h"

#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "fs/control.h"
#include "fs/fs_dirs.h"

namespace modelvault::fs {
namespace {

Filesystem& Fs(fuse_req_t req) {
  auto& fs = *static_cast<Filesystem*>(fuse_req_userdata(req));
  fs.AfterInit();
  return fs;
}
Inode* In(fuse_req_t req, fuse_ino_t ino) { return Fs(req).ToInode(ino); }
FileHandle* Fh(fuse_file_info* fi) { return reinterpret_cast<FileHandle*>(fi->fh); }
DirHandle* Dh(fuse_file_info* fi) { return reinterpret_cast<DirHandle*>(fi->fh); }

// Hands a handle to the kernel, registered so that one never released is still freed.
template <typename Handle>
void Give(Filesystem& fs, fuse_file_info* fi, std::unique_ptr<Handle> handle) {
  fi->fh = reinterpret_cast<uint64_t>(handle.release());
  fs.handles().Add(fi->fh, [](uint64_t h) { delete reinterpret_cast<Handle*>(h); });
}

Caller CallerOf(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  return Caller{ctx->uid, ctx->gid, req};
}

void ReplyStatus(fuse_req_t req, const Status& st) { fuse_reply_err(req, st.ToErrno()); }

// Asks the access gate (access_gate.h); a refused request is counted and answered EACCES
// here (the audit trail may hold back repeated refusals; the counter does not).
bool Admit(fuse_req_t req, std::string_view operation) {
  Status st = Fs(req).gate().Check(req, operation);
  if (st.ok()) return true;
  Fs(req).counters().CountDenied();
  fuse_reply_err(req, EACCES);
  return false;
}

// The user who mounted may read the mount's status even if the policy does not admit them
// (root mounting a store for a service user). The kernel asks for the root's attributes
// before it reads an attribute of it, so those pass too: they are the backing root's,
// which the user who mounted can read anyway. Nothing else of the tree does.
bool AdmitMounterToStatus(fuse_req_t req, fuse_ino_t ino, std::string_view operation) {
  if (ino == FUSE_ROOT_ID && fuse_req_ctx(req)->uid == Fs(req).options().mounter) return true;
  return Admit(req, operation);
}

void ReplyEntry(fuse_req_t req, const Result<fuse_entry_param>& e) {
  if (!e.ok()) return ReplyStatus(req, e.status());
  fuse_reply_entry(req, &*e);
}

void ReplyAttr(fuse_req_t req, fuse_ino_t ino, const Result<struct stat>& st) {
  if (!st.ok()) return ReplyStatus(req, st.status());
  fuse_reply_attr(req, &*st, Fs(req).AttrTimeout(ino));
}

void OnInit(void* userdata, fuse_conn_info* conn) noexcept {
  auto* fs = static_cast<Filesystem*>(userdata);
  // Large requests: model files are read in 1 MiB pieces rather than 128 KiB ones.
  conn->max_write = 1 << 20;
  // With the writeback cache the kernel gathers small writes into whole pages and large
  // requests, so a small write does not cost a read-modify-write of a block each time.
  bool writeback = fs->options().writeback_cache && !fs->options().read_only &&
                   (conn->capable & FUSE_CAP_WRITEBACK_CACHE);
  if (writeback) {
    conn->want |= FUSE_CAP_WRITEBACK_CACHE;
  } else {
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  }
  fs->set_writeback_cache(writeback);
  // A write, truncate or chown by a user without CAP_FSETID clears set-user-ID and
  // set-group-ID. Some libfuse versions hand that job to the filesystem by default, but this
  // daemon writes as root (which keeps the bits) and, behind the writeback cache, does not
  // even learn who wrote; the kernel knows, and clears them with a SETATTR when the job is
  // its own.
  conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
}

void OnDestroy(void* userdata) noexcept { static_cast<Filesystem*>(userdata)->SyncBacking(); }

void OnLookup(fuse_req_t req, fuse_ino_t parent, const char* name) noexcept {
  if (!Admit(req, "lookup")) return;
  auto e = Fs(req).DoLookup(In(req, parent), name);
  if (!e.ok() && e.status().ToErrno() == ENOENT) {
    // A negative entry lets the kernel cache the absence for entry_timeout.
    fuse_entry_param neg;
    std::memset(&neg, 0, sizeof(neg));
    neg.entry_timeout = Fs(req).options().entry_timeout;
    fuse_reply_entry(req, &neg);
    return;
  }
  ReplyEntry(req, e);
}

void OnForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) noexcept {
  Fs(req).inodes().Forget(In(req, ino), nlookup);
  fuse_reply_none(req);
}

void OnForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) noexcept {
  for (size_t i = 0; i < count; ++i) {
    Fs(req).inodes().Forget(In(req, forgets[i].ino), forgets[i].nlookup);
  }
  fuse_reply_none(req);
}

void OnGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) noexcept {
  if (!AdmitMounterToStatus(req, ino, "getattr")) return;
  ReplyAttr(req, ino, Fs(req).DoGetattr(In(req, ino)));
}

void OnSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
               fuse_file_info* fi) noexcept {
  if (!Admit(req, "setattr")) return;
  ReplyAttr(req, ino, Fs(req).DoSetattr(In(req, ino), *attr, to_set, fi ? Fh(fi) : nullptr));
}

void OnReadlink(fuse_req_t req, fuse_ino_t ino) noexcept {
  if (!Admit(req, "readlink")) return;
  auto target = Fs(req).DoReadlink(In(req, ino));
  if (!target.ok()) return ReplyStatus(req, target.status());
  fuse_reply_readlink(req, target->c_str());
}

void OnMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
             dev_t rdev) noexcept {
  if (!Admit(req, "mknod")) return;
  ReplyEntry(req, Fs(req).DoMknod(In(req, parent), name, mode, rdev, CallerOf(req)));
}

void OnMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) noexcept {
  if (!Admit(req, "mkdir")) return;
  ReplyEntry(req, Fs(req).DoMkdir(In(req, parent), name, mode, CallerOf(req)));
}

void OnSymlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) noexcept {
  if (!Admit(req, "symlink")) return;
  ReplyEntry(req, Fs(req).DoSymlink(link, In(req, parent), name, CallerOf(req)));
}

void OnLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char* name) noexcept {
  if (!Admit(req, "link")) return;
  ReplyEntry(req, Fs(req).DoLink(In(req, ino), In(req, parent), name));
}

void OnUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) noexcept {
  if (!Admit(req, "unlink")) return;
  ReplyStatus(req, Fs(req).DoUnlink(In(req, parent), name));
}

void OnRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) noexcept {
  if (!Admit(req, "rmdir")) return;
  ReplyStatus(req, Fs(req).DoRmdir(In(req, parent), name));
}

void OnRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags) noexcept {
  if (!Admit(req, "rename")) return;
  ReplyStatus(req, Fs(req).DoRename(In(req, parent), name, In(req, newparent), newname, flags));
}

void OnOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) noexcept {
  if (!Admit(req, "open")) return;
  auto fh = Fs(req).DoOpen(In(req, ino), fi->flags, CallerOf(req));
  if (!fh.ok()) return ReplyStatus(req, fh.status());
  Give(Fs(req), fi, std::move(fh).value());
  // All changes go through this daemon, so cached pages stay valid across opens.
  fi->keep_cache = Fs(req).options().keep_cache ? 1 : 0;
  if (fuse_reply_open(req, fi) == -ENOENT) Fs(req).handles().Free(fi->fh);  // interrupted
}

void OnCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) noexcept {
  if (!Admit(req, "create")) return;
  auto created = Fs(req).DoCreate(In(req, parent), name, mode, fi->flags, CallerOf(req));
  if (!created.ok()) return ReplyStatus(req, created.status());
  auto& [entry, fh] = *created;
  Give(Fs(req), fi, std::move(fh));
  fi->keep_cache = Fs(req).options().keep_cache ? 1 : 0;
  if (fuse_reply_create(req, &entry, fi) == -ENOENT) {
    Fs(req).handles().Free(fi->fh);
    Fs(req).inodes().Forget(In(req, entry.ino), 1);
  }
}

void OnRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) noexcept {
  if (!Admit(req, "read")) return;
  thread_local std::vector<uint8_t> buf;
  if (buf.size() < size) buf.resize(size);
  Fs(req).counters().CountRead();
  auto n = Fs(req).DoRead(In(req, ino), Fh(fi), std::span(buf.data(), size), off);
  if (!n.ok()) return ReplyStatus(req, n.status());
  Fs(req).counters().CountReadBytes(*n);
  fuse_reply_buf(req, reinterpret_cast<const char*>(buf.data()), *n);
}

// True for pages the kernel writes back from its cache (the writeback cache, fsync,
// msync): such a request is made by no process (pid 0, and uid 0 whoever wrote). The pages
// were dirtied through a handle the gate admitted at open; refusing them would lose data
// that write(2) had already accepted, whenever root is not on the access list.
bool FromWriteback(fuse_req_t req) { return fuse_req_ctx(req)->pid == 0; }

void OnWrite(fuse_req_t req, fuse_ino_t ino, const char* data, size_t size, off_t off,
             fuse_file_info* fi) noexcept {
  if (!FromWriteback(req) && !Admit(req, "write")) return;
  auto in = std::span(reinterpret_cast<const uint8_t*>(data), size);
  Fs(req).counters().CountWrite();
  auto n = Fs(req).DoWrite(In(req, ino), Fh(fi), in, off);
  if (!n.ok()) return ReplyStatus(req, n.status());
  Fs(req).counters().CountWrittenBytes(*n);
  fuse_reply_write(req, *n);
}

void OnFlush(fuse_req_t req, fuse_ino_t, fuse_file_info*) noexcept { fuse_reply_err(req, 0); }

void OnRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) noexcept {
  Fs(req).handles().Free(fi->fh);
  fuse_reply_err(req, 0);
}

void OnFsync(fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info* fi) noexcept {
  if (!Admit(req, "fsync")) return;
  ReplyStatus(req, Fs(req).DoFsync(Fh(fi), datasync != 0));
}

void OnFallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                 fuse_file_info* fi) noexcept {
  if (!Admit(req, "fallocate")) return;
  ReplyStatus(req, Fs(req).DoFallocate(In(req, ino), Fh(fi), mode, offset, length));
}

void OnOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) noexcept {
  if (!Admit(req, "opendir")) return;
  auto d = OpenDir(Fs(req), In(req, ino));
  if (!d.ok()) return ReplyStatus(req, d.status());
  Give(Fs(req), fi, std::move(d).value());
  fi->cache_readdir = 0;
  if (fuse_reply_open(req, fi) == -ENOENT) Fs(req).handles().Free(fi->fh);
}

void ReplyDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
              bool plus) {
  std::vector<char> buf(size);
  auto n = ReadDir(Fs(req), req, In(req, ino), Dh(fi), buf, off, plus);
  if (!n.ok()) return ReplyStatus(req, n.status());
  fuse_reply_buf(req, buf.data(), *n);
}

void OnReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
               fuse_file_info* fi) noexcept {
  if (!Admit(req, "readdir")) return;
  ReplyDir(req, ino, size, off, fi, false);
}

void OnReaddirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   fuse_file_info* fi) noexcept {
  if (!Admit(req, "readdirplus")) return;
  ReplyDir(req, ino, size, off, fi, true);
}

void OnReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) noexcept {
  Fs(req).handles().Free(fi->fh);
  fuse_reply_err(req, 0);
}

void OnFsyncdir(fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info* fi) noexcept {
  if (!Admit(req, "fsyncdir")) return;
  int fd = dirfd(Dh(fi)->dir);
  int rc = datasync ? fdatasync(fd) : fsync(fd);
  fuse_reply_err(req, rc == 0 ? 0 : errno);
}

// True if one of the daemon's own threads made the request: its readiness probe
// (serve.cc) asks for statfs through the mount. The daemon holds the keys anyway, so the gate
// neither refuses nor records it.
bool FromThisProcess(fuse_req_t req) {
  const pid_t pid = fuse_req_ctx(req)->pid;
  const std::string task = "/proc/self/task/" + std::to_string(pid);
  return pid > 0 && access(task.c_str(), F_OK) == 0;
}

void OnStatfs(fuse_req_t req, fuse_ino_t) noexcept {
  if (!FromThisProcess(req) && !Admit(req, "statfs")) return;
  auto sv = Fs(req).DoStatfs();
  if (!sv.ok()) return ReplyStatus(req, sv.status());
  fuse_reply_statfs(req, &*sv);
}

void OnSetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                int flags) noexcept {
  if (!Admit(req, "setxattr")) return;
  auto bytes = std::span(reinterpret_cast<const uint8_t*>(value), size);
  ReplyStatus(req, Fs(req).DoSetxattr(In(req, ino), name, bytes, flags));
}

// getxattr and listxattr share the size-probe protocol: size 0 asks for the length.
void ReplySized(fuse_req_t req, const char* data, size_t len, size_t size) {
  if (size == 0) return (void)fuse_reply_xattr(req, len);
  if (len > size) return (void)fuse_reply_err(req, ERANGE);
  fuse_reply_buf(req, data, len);
}

void OnGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) noexcept {
  if (name == kControlStatus ? !AdmitMounterToStatus(req, ino, "getxattr")
                             : !Admit(req, "getxattr")) {
    return;
  }
  auto value = Fs(req).DoGetxattr(In(req, ino), name);
  if (!value.ok()) return ReplyStatus(req, value.status());
  ReplySized(req, reinterpret_cast<const char*>(value->data()), value->size(), size);
}

void OnListxattr(fuse_req_t req, fuse_ino_t ino, size_t size) noexcept {
  if (!Admit(req, "listxattr")) return;
  auto names = Fs(req).DoListxattr(In(req, ino));
  if (!names.ok()) return ReplyStatus(req, names.status());
  ReplySized(req, names->data(), names->size(), size);
}

void OnRemovexattr(fuse_req_t req, fuse_ino_t ino, const char* name) noexcept {
  if (!Admit(req, "removexattr")) return;
  ReplyStatus(req, Fs(req).DoRemovexattr(In(req, ino), name));
}

}  // namespace

bool Caller::InGroup(gid_t group) const {
  if (group == gid) return true;
  if (req == nullptr) return false;
  gid_t groups[256];
  int n = fuse_req_getgroups(req, 256, groups);
  for (int i = 0; i < n && i < 256; ++i) {
    if (groups[i] == group) return true;
  }
  return false;
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof(ops));
  ops.init = OnInit;
  ops.destroy = OnDestroy;
  ops.lookup = OnLookup;
  ops.forget = OnForget;
  ops.forget_multi = OnForgetMulti;
  ops.getattr = OnGetattr;
  ops.setattr = OnSetattr;
  ops.readlink = OnReadlink;
  ops.mknod = OnMknod;
  ops.mkdir = OnMkdir;
  ops.symlink = OnSymlink;
  ops.link = OnLink;
  ops.unlink = OnUnlink;
  ops.rmdir = OnRmdir;
  ops.rename = OnRename;
  ops.open = OnOpen;
  ops.create = OnCreate;
  ops.read = OnRead;
  ops.write = OnWrite;
  ops.flush = OnFlush;
  ops.release = OnRelease;
  ops.fsync = OnFsync;
  ops.fallocate = OnFallocate;
  ops.opendir = OnOpendir;
  ops.readdir = OnReaddir;
  ops.readdirplus = OnReaddirplus;
  ops.releasedir = OnReleasedir;
  ops.fsyncdir = OnFsyncdir;
  ops.statfs = OnStatfs;
  ops.setxattr = OnSetxattr;
  ops.getxattr = OnGetxattr;
  ops.listxattr = OnListxattr;
  ops.removexattr = OnRemovexattr;
  return ops;
}

}  // namespace modelvault::fs
