#include "fs/backing_limits.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/unique_fd.h"
#include "crypto/hex.h"
#include "crypto/random.h"

namespace modelvault::fs {
namespace {

// An unnamed file in `dirfd`: O_TMPFILE where the filesystem has it, else a hidden name
// (it contains '.', so listings skip it) removed at once.
UniqueFd ScratchFile(int dirfd) {
  UniqueFd fd(openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd.valid()) return fd;
  uint8_t bytes[8];
  if (!crypto::RandomBytes(bytes).ok()) return fd;
  std::string name = ".tmp.size." + crypto::HexEncode(bytes);
  fd.Reset(openat(dirfd, name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.valid()) unlinkat(dirfd, name.c_str(), 0);
  return fd;
}

// 0 if the scratch file may have `size` bytes, 1 if that is too large, -1 if the
// filesystem said something else (nothing is concluded then).
int TrySize(int fd, uint64_t size) {
  if (ftruncate(fd, static_cast<off_t>(size)) == 0) return 0;
  return errno == EFBIG || errno == EINVAL ? 1 : -1;
}

}  // namespace

uint64_t LargestBackingFile(int dirfd) {
  UniqueFd fd = ScratchFile(dirfd);
  if (!fd.valid()) return kNoBackingLimit;
  int at_most = TrySize(fd.get(), kNoBackingLimit);
  if (at_most <= 0) return kNoBackingLimit;
  // Invariant: `fits` may be set, `too_big` may not.
  uint64_t fits = 0;
  uint64_t too_big = kNoBackingLimit;
  while (too_big - fits > 1) {
    uint64_t mid = fits + (too_big - fits) / 2;
    int r = TrySize(fd.get(), mid);
    if (r < 0) return kNoBackingLimit;
    if (r == 0) {
      fits = mid;
    } else {
      too_big = mid;
    }
  }
  return fits;
}

}  // namespace modelvault::fs
