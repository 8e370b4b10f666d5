// A directory inside a mounted store, as `sign` and `unfreeze` address it: the mount it is
// in, and the control attributes (fs/control.h) through which they ask its daemon to
// freeze, unfreeze or reload it and to name its backing directory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace modelvault::cli {

struct MountedDir {
  std::string path;        // the directory, resolved
  std::string mountpoint;  // the modelvault mount holding it
  std::string backing;     // the store's backing directory
};

// InvalidArgument naming `path` if it is not a directory inside a modelvault mount.
Result<MountedDir> FindMountedDir(const std::string& path);

Status SetControl(const MountedDir& dir, const char* name, const std::vector<uint8_t>& value);
Result<std::vector<uint8_t>> GetControl(const MountedDir& dir, const char* name);

// The directory's backing directory (the store's backing directory for the mount root).
Result<std::string> BackingDirOf(const MountedDir& dir);

}  // namespace modelvault::cli
