// RollbackState: the highest versions this host has accepted, so that an old copy of
// something signed or authenticated (the store header with a slot since removed; later,
// signed manifests) cannot be put back without the host noticing. A MAC or a signature
// proves who wrote a version, not that it is the latest; only memory of the latest does.
//
// Kept as a small JSON object {"KEY": version, ...} in a file of the host's
// (DefaultRollbackStatePath()), replaced atomically under an flock(2) on "FILE.lock", so
// concurrent commands and mounts never lose each other's updates. Thread-compatible.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "volume/ids.h"

namespace modelvault::volume {

// $MODELVAULT_STATE_FILE if set; else /var/lib/modelvault/state.json for root, and
// $XDG_STATE_HOME (or ~/.local/state)/modelvault/state.json for other users.
std::string DefaultRollbackStatePath();

// Compares `version` of `key` with the highest one recorded in the state file at `path`:
// Corruption naming `what` if it is lower (a rollback), else records it (creating the file
// and its directory as needed) and returns Ok.
Status CheckAndRecordVersion(const std::string& path, const std::string& key, uint64_t version,
                             const std::string& what);

// The key under which a host remembers the manifest version of the signed directory
// `dir` (its directory ID, which stays with it across renames) of store `volume`.
std::string ManifestStateKey(const VolumeId& volume, const DirId& dir);

// The highest version recorded for `key` in the state file at `path`, or 0 if none (or no
// file). Changes nothing.
Result<uint64_t> SeenVersion(const std::string& path, const std::string& key);

}  // namespace modelvault::volume
