#include "cli/mounted_dir.h"

#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "base/mount_table.h"

namespace modelvault::cli {

Result<MountedDir> FindMountedDir(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) return Status::FromErrno(errno, path);
  MountedDir dir;
  dir.path = buf;
  struct stat st;
  if (stat(dir.path.c_str(), &st) != 0) return Status::FromErrno(errno, path);
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(path + " is not a directory");
  // The innermost modelvault mount whose mountpoint holds the directory.
  for (const MountEntry& m : ReadMountTable()) {
    if (m.fstype != "fuse.modelvault") continue;
    bool inside = dir.path == m.mount_point ||
                  (dir.path.starts_with(m.mount_point) &&
                   (m.mount_point == "/" || dir.path[m.mount_point.size()] == '/'));
    if (inside && m.mount_point.size() >= dir.mountpoint.size()) {
      dir.mountpoint = m.mount_point;
      dir.backing = m.source;
    }
  }
  if (dir.mountpoint.empty()) {
    return Status::InvalidArgument(path + " is not inside a mounted modelvault store");
  }
  return dir;
}

Status SetControl(const MountedDir& dir, const char* name, const std::vector<uint8_t>& value) {
  if (setxattr(dir.path.c_str(), name, value.data(), value.size(), 0) != 0) {
    return Status::FromErrno(errno, dir.path + ": " + name);
  }
  return Status::Ok();
}

Result<std::vector<uint8_t>> GetControl(const MountedDir& dir, const char* name) {
  std::vector<uint8_t> value(4096);
  ssize_t n = getxattr(dir.path.c_str(), name, value.data(), value.size());
  if (n < 0) return Status::FromErrno(errno, dir.path + ": " + name);
  value.resize(static_cast<size_t>(n));
  return value;
}

Result<std::string> BackingDirOf(const MountedDir& dir) {
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> rel, GetControl(dir, "user.modelvault.backing"));
  std::string path(rel.begin(), rel.end());
  if (path.find("..") != std::string::npos || path.starts_with("/")) {
    return Status::Corruption(dir.path + ": the daemon named an odd backing path");
  }
  return path.empty() ? dir.backing : dir.backing + "/" + path;
}

}  // namespace modelvault::cli
