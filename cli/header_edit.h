// Changing a store's header with its key: unlock, check the header's MAC (so that a slot
// swapped in or rolled back is refused before anything is built on it), edit, seal and
// replace the file atomically, all under the header-edit lock. A failure at any step
// leaves modelvault.json as it was.
#pragma once

#include <functional>
#include <string>

#include "base/status.h"
#include "cli/unlock.h"
#include "volume/volume_header.h"

namespace modelvault::cli {

// `edit` changes `header` in place; it sees the master key and which slot opened.
using HeaderEdit = std::function<Status(volume::VolumeHeader& header, const Unlocked& unlocked)>;

Status EditHeader(const std::string& backing, const config::UnlockSettings& unlock,
                  const HeaderEdit& edit);

}  // namespace modelvault::cli
