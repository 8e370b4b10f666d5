#include "fs/mount_namespace.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/log.h"

namespace modelvault::fs {
namespace {

// Opens `ns_path` and makes sure it is a mount namespace.
Result<UniqueFd> OpenNamespace(const std::string& ns_path) {
  UniqueFd fd(open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "mount namespace " + ns_path);
  int type = ioctl(fd.get(), NS_GET_NSTYPE);
  if (type < 0) return Status::InvalidArgument(ns_path + " is not a namespace file");
  if (type != CLONE_NEWNS) return Status::InvalidArgument(ns_path + " is not a mount namespace");
  return fd;
}

Status Join(int fd, const std::string& what) {
  if (setns(fd, CLONE_NEWNS) == 0) return Status::Ok();
  int err = errno;
  if (err == EINVAL) {
    // OpenNamespace has ruled out the other cause.
    return Status::InvalidArgument("cannot enter mount namespace " + what +
                                   ": the process has more than one thread");
  }
  return Status::FromErrno(err, "entering mount namespace " + what);
}

}  // namespace

Result<MountNamespaceVisit> MountNamespaceVisit::Enter(const std::string& ns_path) {
  MV_ASSIGN_OR_RETURN(UniqueFd home, OpenNamespace("/proc/self/ns/mnt"));
  MV_ASSIGN_OR_RETURN(UniqueFd target, OpenNamespace(ns_path));
  MV_RETURN_IF_ERROR(Join(target.get(), ns_path));
  return MountNamespaceVisit(std::move(home));
}

MountNamespaceVisit::~MountNamespaceVisit() {
  Status st = Leave();
  if (!st.ok()) {
    LogError("cannot return to the daemon's own mount namespace: " + st.message());
    std::abort();
  }
}

Status MountNamespaceVisit::Leave() {
  if (!home_.valid()) return Status::Ok();
  MV_RETURN_IF_ERROR(Join(home_.get(), "/proc/self/ns/mnt (its own)"));
  home_.Reset();
  return Status::Ok();
}

Status CheckMountNamespace(const std::string& ns_path) {
  Result<UniqueFd> fd = OpenNamespace(ns_path);
  return fd.ok() ? Status::Ok() : fd.status();
}

Status UnmountInNamespace(const std::string& ns_path, const std::string& mountpoint) {
  MV_ASSIGN_OR_RETURN(UniqueFd target, OpenNamespace(ns_path));
  pid_t pid = fork();
  if (pid < 0) return Status::FromErrno(errno, "fork");
  if (pid == 0) {
    // Only async-signal-safe calls here: the parent may have other threads.
    if (setns(target.get(), CLONE_NEWNS) != 0) _exit(100);
    _exit(umount2(mountpoint.c_str(), MNT_DETACH) == 0 ? 0 : errno);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status)) return Status::IOError("unmounting " + mountpoint + ": helper crashed");
  int code = WEXITSTATUS(status);
  // EINVAL: nothing is mounted there (any more), which is what the caller wants.
  if (code == 0 || code == EINVAL) return Status::Ok();
  if (code == 100) return Status::IOError("cannot enter mount namespace " + ns_path);
  return Status::FromErrno(code, "unmounting " + mountpoint + " in " + ns_path);
}

}  // namespace modelvault::fs
