// The status document of a mount: what `modelvault status` shows and the metrics file is
// made from (docs/MONITORING.md lists every field). It holds counters, settings and
// backing paths, never plaintext names or content, and no key material; trusted keys
// appear only as their ids.
//
// Thread-safe: reads atomics and takes the signed tree's lock briefly.
#pragma once

#include <nlohmann/json.hpp>

namespace modelvault::fs {

class Filesystem;

// At most this many signed directories are listed, in at most about this many bytes (the
// whole document must fit in one extended attribute value, 64 KiB);
// "signed_directory_count" always has the full count.
inline constexpr size_t kMaxListedSignedDirs = 200;
inline constexpr size_t kMaxListedSignedDirBytes = 48 * 1024;

nlohmann::json MountStatus(Filesystem& fs);

}  // namespace modelvault::fs
