// The kernel's table of mounts (/proc/self/mountinfo): finding modelvault mounts, and a
// mount's device, without touching the mount itself.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace modelvault {

struct MountEntry {
  std::string mount_point;
  std::string device;   // "major:minor"
  std::string fstype;   // "fuse.modelvault" for ours
  std::string source;   // the backing directory for ours
  std::string options;  // per-mount options, e.g. "rw,nosuid,nodev"
  bool read_only() const;
};

std::vector<MountEntry> ReadMountTable();
// The entry mounted exactly at `path` (already resolved), the topmost if stacked.
std::optional<MountEntry> FindMount(const std::string& path);

}  // namespace modelvault
