// ServeMount: mounts an opened volume with libfuse's low-level API and serves requests on a
// multithreaded session loop until the filesystem is unmounted or the process receives
// SIGINT/SIGTERM/SIGHUP. Returns once the loop has ended and the backing filesystem has
// been synced.
#pragma once

#include <functional>
#include <memory>

#include "base/status.h"
#include "fs/mount_options.h"
#include "volume/volume.h"

namespace modelvault::fs {

// `on_mounted` runs once the kernel mount exists, before the first request is served (a
// background daemon uses it to tell its parent that the mount is ready).
Status ServeMount(std::unique_ptr<volume::Volume> volume, const MountOptions& options,
                  const std::function<void()>& on_mounted);

}  // namespace modelvault::fs
