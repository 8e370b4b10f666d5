#include "fs/serve.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "fs/filesystem.h"
#include "fs/fuse_ops.h"
#include "fs/metrics_file.h"
#include "fs/mount_namespace.h"
#include "fs/mount_status.h"

namespace modelvault::fs {
namespace {

struct SessionDeleter {
  void operator()(fuse_session* se) const { fuse_session_destroy(se); }
};
struct LoopConfigDeleter {
  void operator()(fuse_loop_config* c) const { fuse_loop_cfg_destroy(c); }
};

// How long a stopping daemon waits for the kernel to end the connection of a mount it
// removed in another namespace (files still open there keep it alive).
constexpr int kConnectionEndWaitMs = 2000;

struct ArgsDeleter {
  void operator()(fuse_args* a) const { fuse_opt_free_args(a); }
};

// The -o string for the kernel mount: our fixed options first, the user's after them.
std::string MountOptionString(const std::string& backing, const MountOptions& options) {
  std::string fsname = backing;
  // ',' separates options and '\' escapes in libfuse's parser.
  std::string escaped;
  for (char c : fsname) {
    if (c == ',' || c == '\\') escaped.push_back('\\');
    escaped.push_back(c);
  }
  std::string o = "fsname=" + escaped + ",subtype=modelvault,default_permissions";
  if (options.read_only) o += ",ro";
  // The daemon's gate decides who enters; without allow_other the kernel would admit only
  // the user who mounted, whatever the gate says.
  bool asked = false;
  for (const auto& opt : options.fuse_options) {
    o += "," + opt;
    asked = asked || opt == "allow_other";
  }
  if (IsShared(options) && !asked) o += ",allow_other";
  return o;
}

// Every directory the kernel keeps cached holds an O_PATH descriptor open here (files too
// where file handles cannot be used), so a large tree needs more than the usual 1024: as
// many as the system allows a process (fs.nr_open) where the daemon may raise its hard
// limit, else the hard limit.
void RaiseDescriptorLimit() {
  struct rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return;
  rlim_t most = files.rlim_max;
  UniqueFd nr_open(open("/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC));
  char buf[32] = {};
  if (nr_open.valid() && read(nr_open.get(), buf, sizeof(buf) - 1) > 0) {
    most = std::max<rlim_t>(most, std::strtoull(buf, nullptr, 10));
  }
  struct rlimit want = {most, most};
  if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
    want = {files.rlim_max, files.rlim_max};
    setrlimit(RLIMIT_NOFILE, &want);
  }
}

// Waits for the kernel to carry one request through `root` to the session loop and back: the
// first one also waits for the INIT handshake, so an answer means the mount is live. Any
// reply counts, a refusal too; only a connection that ended first does not.
void ProbeMount(UniqueFd root, const std::function<void()>& answering) {
  struct statfs st;
  int rc;
  do {
    rc = fstatfs(root.get(), &st);
  } while (rc != 0 && errno == EINTR);
  int err = rc == 0 ? 0 : errno;
  // Our own reference must not keep the mount busy for an unmount.
  root.Reset();
  if (err == ENOTCONN || err == ECONNABORTED) {
    LogDebug("the mount never answered: " + std::string(strerror(err)));
    return;
  }
  if (answering) answering();
}

// Makes the kernel mount, in options.mount_namespace if set, and opens its root for
// ProbeMount. The root is opened O_PATH, which sends no request, so this cannot wait on the
// loop that has not started yet.
Status MountSession(fuse_session* se, const MountOptions& options, UniqueFd* root) {
  std::optional<MountNamespaceVisit> visit;
  if (!options.mount_namespace.empty()) {
    MV_ASSIGN_OR_RETURN(auto entered, MountNamespaceVisit::Enter(options.mount_namespace));
    visit.emplace(std::move(entered));
  }
  struct stat st;
  if (stat(options.mountpoint.c_str(), &st) != 0 && errno == ENOTCONN) {
    // The mount of a daemon that died: nothing answers there any more.
    LogWarning("replacing the dead mount at " + options.mountpoint);
    if (umount2(options.mountpoint.c_str(), MNT_DETACH) != 0) {
      return Status::FromErrno(errno, "removing the dead mount at " + options.mountpoint);
    }
  }
  if (fuse_session_mount(se, options.mountpoint.c_str()) != 0) {
    return Status::IOError("cannot mount at " + options.mountpoint);
  }
  root->Reset(open(options.mountpoint.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!visit) return Status::Ok();
  Status back = visit->Leave();
  if (!back.ok()) {
    fuse_session_unmount(se);
    return back;
  }
  return Status::Ok();
}

// Removes the kernel mount if it is still there. In another namespace that takes a helper
// process, since the request threads' pools may have made this one multithreaded;
// libfuse then only closes its descriptor.
void UnmountSession(fuse_session* se, const MountOptions& options) {
  if (!options.mount_namespace.empty()) {
    Status st = UnmountInNamespace(options.mount_namespace, options.mountpoint);
    if (!st.ok()) {
      LogWarning(st.message());
    } else {
      // The kernel ends the connection once the detached mount's last user is gone, a moment
      // after the unmount. libfuse, seeing it ended, only closes its descriptor; seeing it
      // still open, it would try to unmount here, where nothing is mounted, and complain.
      struct pollfd ended = {fuse_session_fd(se), 0, 0};
      while (poll(&ended, 1, kConnectionEndWaitMs) < 0 && errno == EINTR) {
      }
    }
  }
  fuse_session_unmount(se);
}

}  // namespace

Status ServeMount(std::unique_ptr<volume::Volume> volume, const MountOptions& options,
                  const std::function<void()>& on_mounted) {
  ServeHooks hooks;
  hooks.mounted = on_mounted;
  return ServeMount(std::move(volume), options, hooks);
}

Status ServeMount(std::unique_ptr<volume::Volume> volume, const MountOptions& options,
                  const ServeHooks& hooks) {
  std::string backing = volume->backing_dir();
  // A write past an RLIMIT_FSIZE the daemon was started with (LimitFSIZE= under systemd)
  // must fail that request with EFBIG, not end the mount with the signal.
  signal(SIGXFSZ, SIG_IGN);
  MV_ASSIGN_OR_RETURN(auto fs, Filesystem::New(std::move(volume), options));
  // Modes from the kernel are already masked by the caller's umask; ours must not apply.
  umask(0);
  RaiseDescriptorLimit();

  std::string opts = MountOptionString(backing, options);
  std::vector<const char*> argv = {"modelvault", "-o", opts.c_str()};
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  // fuse_session_new() may copy the arguments into memory of its own, which is ours to free.
  std::unique_ptr<fuse_args, ArgsDeleter> args_owner(&args);
  fuse_lowlevel_ops ops = MakeOps();
  std::unique_ptr<fuse_session, SessionDeleter> se(
      fuse_session_new(&args, &ops, sizeof(ops), fs.get()));
  if (!se) return Status::InvalidArgument("invalid mount options: " + opts);
  if (fuse_set_signal_handlers(se.get()) != 0) {
    return Status::Internal("cannot install signal handlers");
  }
  UniqueFd root;
  if (Status st = MountSession(se.get(), options, &root); !st.ok()) {
    fuse_remove_signal_handlers(se.get());
    return st;
  }
  // Written once before the mount is announced, so that a metrics path that cannot be
  // written fails the mount rather than going unnoticed.
  std::unique_ptr<MetricsFile> metrics;
  if (!options.metrics_file.empty()) {
    auto started = MetricsFile::Start(options.metrics_file,
                                      std::chrono::seconds(std::max(1, options.metrics_interval)),
                                      [&fs] { return MountStatus(*fs); });
    if (!started.ok()) {
      UnmountSession(se.get(), options);
      fuse_remove_signal_handlers(se.get());
      return started.status();
    }
    metrics = std::move(started).value();
  }
  if (hooks.mounted) hooks.mounted();

  std::unique_ptr<fuse_loop_config, LoopConfigDeleter> cfg(fuse_loop_cfg_create());
  fuse_loop_cfg_set_clone_fd(cfg.get(), 1);
  if (options.max_threads > 0) {
    fuse_loop_cfg_set_max_threads(cfg.get(), static_cast<unsigned>(options.max_threads));
  }
  std::thread probe;
  if (root.valid()) {
    probe = std::thread(ProbeMount, std::move(root), hooks.answering);
  } else {
    LogWarning("cannot open the root of " + options.mountpoint + " to see the mount answer");
    if (hooks.answering) hooks.answering();
  }
  int rc = fuse_session_loop_mt(se.get(), cfg.get());
  if (hooks.stopping) hooks.stopping();
  UnmountSession(se.get(), options);
  // The session's descriptors are closed now, so a probe still waiting has its answer.
  if (probe.joinable()) probe.join();
  fuse_remove_signal_handlers(se.get());
  se.reset();  // runs OnDestroy, which syncs the backing filesystem
  if (metrics) {
    // No request runs any more: these are the mount's final values.
    Status st = metrics->Stop();
    if (!st.ok()) LogWarning(st.message());
  }
  if (rc < 0) return Status::FromErrno(-rc, "serving " + options.mountpoint);
  return Status::Ok();
}

}  // namespace modelvault::fs
