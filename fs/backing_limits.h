// The largest file the backing filesystem lets the daemon make. A store has no holes: a
// file grows by writing encrypted zeros, so growing one past what the backing filesystem
// (or the daemon's RLIMIT_FSIZE) allows would write zeros until that limit or the disk ran
// out, where a local filesystem answers EFBIG at once. Knowing the limit up front lets the
// daemon answer EFBIG the same way.
#pragma once

#include <cstdint>

namespace modelvault::fs {

// What LargestBackingFile() returns when it cannot find out: the largest size the content
// format itself allows (volume::FileContent refuses more with EFBIG).
inline constexpr uint64_t kNoBackingLimit = uint64_t{1} << 62;

// Finds the largest size a file in the directory `dirfd` may be given, by setting the size
// of an unnamed scratch file (which holds no data, so this takes no space) and bisecting on
// EFBIG/EINVAL. SIGXFSZ must be ignored, or an RLIMIT_FSIZE ends the process here. Returns
// kNoBackingLimit where no scratch file can be made (a read-only backing directory).
uint64_t LargestBackingFile(int dirfd);

}  // namespace modelvault::fs
