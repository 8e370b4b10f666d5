#include "tests/fs/run_as.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace modelvault::fs::test {
namespace {

bool BecomeInChild(const Identity& who) {
  return setgroups(who.groups.size(), who.groups.data()) == 0 && setgid(who.gid) == 0 &&
         setuid(who.uid) == 0;
}

int WaitFor(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

int RunAs(const Identity& who, const std::function<int()>& fn) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (!BecomeInChild(who)) _exit(255);
    _exit(fn() & 0xff);
  }
  int rc = WaitFor(pid);
  return rc == 255 ? -1 : rc;
}

int ExecAs(const Identity& who, const std::vector<std::string>& argv) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    if (!BecomeInChild(who)) _exit(255);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(255);
  }
  int rc = WaitFor(pid);
  return rc == 255 ? -1 : rc;
}

int OpenAndReadAs(const Identity& who, const std::string& path) {
  return RunAs(who, [&] {
    int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) return errno;
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
    }
    int err = n < 0 ? errno : 0;
    close(fd);
    return err;
  });
}

int StatAs(const Identity& who, const std::string& path) {
  return RunAs(who, [&] {
    // Only the size, as `stat -c %s` asks: the request the kernel most readily answers from
    // its caches (a full stat may refresh atime and so reach the daemon anyway).
    struct statx stx;
    return statx(AT_FDCWD, path.c_str(), 0, STATX_SIZE, &stx) == 0 ? 0 : errno;
  });
}

int ListAs(const Identity& who, const std::string& path) {
  return RunAs(who, [&] {
    DIR* dir = opendir(path.c_str());
    if (dir == nullptr) return errno;
    errno = 0;
    while (readdir(dir) != nullptr) {
    }
    int err = errno;
    closedir(dir);
    return err;
  });
}

int MmapAs(const Identity& who, const std::string& path) {
  return RunAs(who, [&] {
    int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) return errno;
    void* p = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
    int err = p == MAP_FAILED ? errno : 0;
    if (p != MAP_FAILED) {
      volatile char first = *static_cast<volatile char*>(p);
      (void)first;
      munmap(p, 4096);
    }
    close(fd);
    return err;
  });
}

int CreateAs(const Identity& who, const std::string& path) {
  return RunAs(who, [&] {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return errno;
    close(fd);
    return 0;
  });
}

}  // namespace modelvault::fs::test
