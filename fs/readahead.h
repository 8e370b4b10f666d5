// Kernel readahead of a FUSE mount. Readahead sets the size of the read requests that a
// sequential reader causes, so raising it from the kernel's 128 KiB to 1 MiB means fewer
// round trips and more blocks decrypted per request.
#pragma once

#include <string>

namespace modelvault::fs {

// Sets read_ahead_kb of the mount at `mountpoint` (nothing if `kb` <= 0). Call only after
// the kernel has processed the INIT reply, which would otherwise lower it again.
void SetReadahead(const std::string& mountpoint, int kb);

}  // namespace modelvault::fs
