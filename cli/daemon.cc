#include "cli/daemon.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/file_util.h"
#include "base/log.h"
#include "base/secret_bytes.h"
#include "base/unique_fd.h"

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

namespace modelvault::cli {
namespace {

// Best effort: the parent reports a daemon that says nothing as one that stopped early.
void WriteAll(int fd, const std::string& s) {
  (void)WriteFull(fd, std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

void DetachStdio() {
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return;
  dup2(null, STDIN_FILENO);
  dup2(null, STDOUT_FILENO);
  dup2(null, STDERR_FILENO);
  if (null > STDERR_FILENO) close(null);
}

}  // namespace

void HardenDaemon() {
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  // Memory locks do not survive fork(): lock everything where allowed (root), and at least
  // the secrets otherwise.
  bool locked = geteuid() == 0 && mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0;
  if (!locked && !RelockSecretMemory()) {
    LogWarning("could not lock the daemon's key memory; key material may be swapped out");
  }
}

Status RunInBackground(const std::function<Status(const std::function<void()>& ready)>& serve) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  pid_t pid = fork();
  if (pid < 0) return Status::FromErrno(errno, "fork");
  if (pid > 0) {
    write_end.Reset();
    std::string msg;
    char buf[512];
    ssize_t n;
    while ((n = read(read_end.get(), buf, sizeof(buf))) != 0) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      msg.append(buf, static_cast<size_t>(n));
    }
    if (msg == "ok") return Status::Ok();
    if (msg.empty()) msg = "the mount daemon exited before the mount was ready";
    return Status::IOError(msg);
  }
  read_end.Reset();
  setsid();
  int pipe_fd = write_end.Release();
  Status st = serve([&pipe_fd] {
    WriteAll(pipe_fd, "ok");
    close(pipe_fd);
    pipe_fd = -1;
    if (chdir("/") != 0) LogWarning("cannot change directory to /");
    UseSyslog("modelvault");
    DetachStdio();
  });
  if (pipe_fd >= 0) {
    WriteAll(pipe_fd, st.ok() ? std::string("the mount daemon stopped early") : st.message());
    close(pipe_fd);
  } else if (!st.ok()) {
    LogError(st.message());
  }
  _exit(st.ok() ? 0 : 1);
}

}  // namespace modelvault::cli
