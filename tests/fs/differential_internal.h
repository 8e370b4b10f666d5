// Shared by the differential test's sources: one syscall's outcome and how two compare.
#pragma once

#include <sys/stat.h>

#include <string>

namespace modelvault::fs::test {

struct Outcome {
  long rc = 0;
  int err = 0;  // errno if rc < 0
};

// Captures `rc` and, if it is negative, errno.
Outcome Sys(long rc);
// "" if both outcomes agree, else a description. With `normalize`, EEXIST counts as
// ENOTEMPTY (POSIX allows either for rmdir and rename of a non-empty directory).
std::string Differ(const Outcome& m, const Outcome& p, bool normalize = false);
// "" if type, mode, owner, link count and (except for directories) size agree.
std::string SameStat(const struct stat& m, const struct stat& p, const std::string& what);

}  // namespace modelvault::fs::test
