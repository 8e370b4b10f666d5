// Directory IDs: every backing directory holds a file ".mvdir" with its 16-byte random ID,
// the associated data for the names inside it (docs/FORMAT.md, "Directories").
#pragma once

#include <string>

#include "base/result.h"
#include "volume/ids.h"

namespace modelvault::volume {

// Reads the ID of the directory open as `dirfd`; `path` names it in errors.
Result<DirId> ReadDirId(int dirfd, const std::string& path);
// Writes (creates or replaces) the ID file inside `dirfd` and syncs it.
Status WriteDirId(int dirfd, const DirId& id, const std::string& path);

}  // namespace modelvault::volume
