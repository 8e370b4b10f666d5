// ServeMount: mounts an opened volume with libfuse's low-level API and serves requests on a
// multithreaded session loop until the filesystem is unmounted or the process receives
// SIGINT/SIGTERM/SIGHUP (then it removes the mount itself). With options.mount_namespace the
// kernel mount is made and removed in that mount namespace (fs/mount_namespace.h), which
// needs the process to be single-threaded when ServeMount is called. Returns once the loop has
// ended and the backing filesystem has been synced.
#pragma once

#include <functional>
#include <memory>

#include "base/status.h"
#include "fs/mount_options.h"
#include "volume/volume.h"

namespace modelvault::fs {

// What ServeMount reports to its caller as the mount comes and goes; any may be empty.
struct ServeHooks {
  // The kernel mount exists; runs on the calling thread before any request is served.
  std::function<void()> mounted;
  // A request through the mountpoint (a statfs of its root) has been answered, so the mount
  // is live. Runs on a helper thread while requests are served; never runs if the session
  // ends first.
  std::function<void()> answering;
  // The session loop has ended (the mount was removed, or a signal came); runs on the
  // calling thread before the mount is removed and the backing filesystem synced.
  std::function<void()> stopping;
};

Status ServeMount(std::unique_ptr<volume::Volume> volume, const MountOptions& options,
                  const ServeHooks& hooks);

// `on_mounted` runs once the kernel mount exists, before the first request is served.
Status ServeMount(std::unique_ptr<volume::Volume> volume, const MountOptions& options,
                  const std::function<void()>& on_mounted);

}  // namespace modelvault::fs
