#include "fs/serve.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "base/log.h"
#include "fs/filesystem.h"
#include "fs/fuse_ops.h"
#include "fs/metrics_file.h"
#include "fs/mount_status.h"

namespace modelvault::fs {
namespace {

struct SessionDeleter {
  void operator()(fuse_session* se) const { fuse_session_destroy(se); }
};
struct LoopConfigDeleter {
  void operator()(fuse_loop_config* c) const { fuse_loop_cfg_destroy(c); }
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

}  // namespace

Status ServeMount(std::unique_ptr<volume::Volume> volume, const MountOptions& options,
                  const std::function<void()>& on_mounted) {
  std::string backing = volume->backing_dir();
  MV_ASSIGN_OR_RETURN(auto fs, Filesystem::New(std::move(volume), options));
  // Modes from the kernel are already masked by the caller's umask; ours must not apply.
  umask(0);
  RaiseDescriptorLimit();

  std::string opts = MountOptionString(backing, options);
  std::vector<const char*> argv = {"modelvault", "-o", opts.c_str()};
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  fuse_lowlevel_ops ops = MakeOps();
  std::unique_ptr<fuse_session, SessionDeleter> se(
      fuse_session_new(&args, &ops, sizeof(ops), fs.get()));
  if (!se) return Status::InvalidArgument("invalid mount options: " + opts);
  if (fuse_set_signal_handlers(se.get()) != 0) {
    return Status::Internal("cannot install signal handlers");
  }
  if (fuse_session_mount(se.get(), options.mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(se.get());
    return Status::IOError("cannot mount at " + options.mountpoint);
  }
  // Written once before the mount is announced, so that a metrics path that cannot be
  // written fails the mount rather than going unnoticed.
  std::unique_ptr<MetricsFile> metrics;
  if (!options.metrics_file.empty()) {
    auto started = MetricsFile::Start(options.metrics_file,
                                      std::chrono::seconds(std::max(1, options.metrics_interval)),
                                      [&fs] { return MountStatus(*fs); });
    if (!started.ok()) {
      fuse_session_unmount(se.get());
      fuse_remove_signal_handlers(se.get());
      return started.status();
    }
    metrics = std::move(started).value();
  }
  on_mounted();

  std::unique_ptr<fuse_loop_config, LoopConfigDeleter> cfg(fuse_loop_cfg_create());
  fuse_loop_cfg_set_clone_fd(cfg.get(), 1);
  if (options.max_threads > 0) {
    fuse_loop_cfg_set_max_threads(cfg.get(), static_cast<unsigned>(options.max_threads));
  }
  int rc = fuse_session_loop_mt(se.get(), cfg.get());
  fuse_session_unmount(se.get());
  fuse_remove_signal_handlers(se.get());
  se.reset();  // runs OnDestroy, which syncs the backing filesystem
  if (metrics) {
    // No request runs any more: these are the mount's final values.
    Status st = metrics->Stop();
    if (!st.ok()) LogWarning("metrics file: " + st.message());
  }
  if (rc < 0) return Status::FromErrno(-rc, "serving " + options.mountpoint);
  return Status::Ok();
}

}  // namespace modelvault::fs
