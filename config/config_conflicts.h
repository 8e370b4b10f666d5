// Checks across the keys of a mount config: settings each valid alone that contradict each
// other or that the daemon sets itself. Internal to config/.
#pragma once

#include <yaml-cpp/yaml.h>

#include "config/mount_config.h"
#include "config/problems.h"

namespace modelvault::config {

// Reports every conflict in `config`, read from the mapping `root`, at the lines of the
// keys involved:
//   - signatures.require without a trusted key;
//   - an unlock.order method that "unlock" does not say how to use;
//   - access.executables without uids or gids to run them;
//   - fuse_options (each entry split at commas, as -o takes them) the daemon sets itself
//     (allow_other, default_permissions, fsname, subtype), "ro" (say "read_only"), "rw"
//     with "read_only: true", and an option given twice;
//   - positive cache.entry_timeout on a shared mount (the access gate needs 0);
//   - one file used as both audit log and metrics file; a mountpoint inside the backing
//     directory or the other way round (after resolving "." and ".." in the text).
void CheckConflicts(const YAML::Node& root, const MountConfig& config, Problems& p);

// True if the access list admits anyone but root (who mounts from the service unit), so
// that the daemon makes the mount shared (fs/mount_options.h, IsShared).
bool AdmitsOthersThanRoot(const MountConfig& config);

}  // namespace modelvault::config
