#include "volume/store_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "volume/volume_header.h"

namespace modelvault::volume {
namespace {

Result<UniqueFd> OpenLock(const std::string& backing_dir) {
  std::string path = backing_dir + "/" + kLockFile;
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, path);
  return fd;
}

}  // namespace

Result<UniqueFd> LockStoreForWriting(const std::string& backing_dir) {
  MV_ASSIGN_OR_RETURN(UniqueFd fd, OpenLock(backing_dir));
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status::Busy(backing_dir +
                          " is already mounted read-write (only read-only mounts may join it)");
    }
    return Status::FromErrno(errno, backing_dir + "/" + kLockFile);
  }
  return fd;
}

Result<UniqueFd> LockHeaderForEditing(const std::string& backing_dir, int timeout_ms) {
  UniqueFd fd(open(backing_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, backing_dir);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return Status::FromErrno(errno, backing_dir);
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Busy("another command is changing the header of " + backing_dir);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fd;
}

Status WaitForStoreUnlock(const std::string& backing_dir, int timeout_ms) {
  MV_ASSIGN_OR_RETURN(UniqueFd fd, OpenLock(backing_dir));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (flock(fd.get(), LOCK_SH | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return Status::FromErrno(errno, backing_dir + "/" + kLockFile);
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Busy("the daemon serving " + backing_dir + " has not finished");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  flock(fd.get(), LOCK_UN);
  return Status::Ok();
}

}  // namespace modelvault::volume
