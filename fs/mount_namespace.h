// Mount namespaces for a sandboxed daemon: a systemd service with ProtectSystem= or
// PrivateTmp= runs in a mount namespace of its own, and a FUSE mount made there would be
// invisible to the rest of the host. The daemon therefore makes (and removes) its kernel
// mount in another namespace, named by a file such as /proc/1/ns/mnt, and reaches its
// backing directory through its own, sandboxed view.
//
// Both need CAP_SYS_ADMIN and CAP_SYS_CHROOT, and opening another process's namespace file
// needs the right to ptrace it. Not thread-safe.
#pragma once

#include <string>

#include "base/result.h"
#include "base/status.h"
#include "base/unique_fd.h"

namespace modelvault::fs {

// Moves the calling process into the mount namespace `ns_path` names until Leave() or
// destruction, which return it to the namespace it came from. setns(2) refuses a
// multithreaded process: Enter() says so then. Move-only.
class MountNamespaceVisit {
 public:
  static Result<MountNamespaceVisit> Enter(const std::string& ns_path);

  MountNamespaceVisit(MountNamespaceVisit&&) noexcept = default;
  MountNamespaceVisit& operator=(MountNamespaceVisit&&) = delete;
  MountNamespaceVisit(const MountNamespaceVisit&) = delete;
  MountNamespaceVisit& operator=(const MountNamespaceVisit&) = delete;
  // Aborts the process if it cannot return: serving from the wrong namespace would expose
  // the wrong view of the filesystem.
  ~MountNamespaceVisit();

  Status Leave();

 private:
  explicit MountNamespaceVisit(UniqueFd home) : home_(std::move(home)) {}
  UniqueFd home_;  // our own namespace; invalid once left
};

// Checks that `ns_path` names a mount namespace this process may enter, before anything
// else happens, so that a wrong --mount-namespace fails early and clearly.
Status CheckMountNamespace(const std::string& ns_path);

// Lazily unmounts `mountpoint` inside the namespace `ns_path` names, from a short-lived
// child process, so that it works while this process has threads. Ok if nothing is mounted
// there.
Status UnmountInNamespace(const std::string& ns_path, const std::string& mountpoint);

}  // namespace modelvault::fs
