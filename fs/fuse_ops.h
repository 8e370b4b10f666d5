// The table of libfuse low-level callbacks that serve a Filesystem (fuse_req_userdata).
#pragma once

#include "fs/filesystem.h"

namespace modelvault::fs {

fuse_lowlevel_ops MakeOps();

}  // namespace modelvault::fs
