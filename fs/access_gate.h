// AccessGate: the per-request check that keeps plaintext, names and attributes from every
// process the AccessPolicy does not admit. Every request that reads or changes the tree
// asks the gate first and is answered EACCES if the caller is not admitted; only FORGET,
// RELEASE, RELEASEDIR, FLUSH, INIT and DESTROY, which reveal nothing, pass unchecked.
//
// The kernel must not answer a refused process from its caches either. When the policy
// admits users other than the one who mounted (the mount then has allow_other):
//   - directory entries are cached for 0 s, so every path walk sends a LOOKUP as the
//     walking process (a cached dentry would otherwise let anyone stat a name an admitted
//     process looked up), negative entries likewise;
//   - the root's attributes are cached for 0 s (the root is never looked up);
//   - readdir results are never cached (cache_readdir is off);
//   - file pages stay cached across opens (keep_cache): a refused process cannot open, so
//     it cannot reach them through read() or mmap().
// A descriptor that an admitted process hands to another (SCM_RIGHTS, fork) is outside
// the gate for pages already cached; requests it causes are still checked.
//
// Thread-safe; Check() is called concurrently by every request thread.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "fs/access_policy.h"

namespace modelvault::fs {

class AccessGate {
 public:
  AccessGate(AccessPolicy policy, std::function<void(const DeniedRequest&)> on_denied)
      : policy_(std::move(policy)), on_denied_(std::move(on_denied)) {}

  // Ok, or PermissionDenied after reporting the refusal to on_denied.
  Status Check(fuse_req_t req, std::string_view operation) const;

 private:
  bool Admits(fuse_req_t req, const fuse_ctx& ctx, std::string* exe) const;

  const AccessPolicy policy_;
  const std::function<void(const DeniedRequest&)> on_denied_;
};

// The program `pid` (a process or thread id) is running, from /proc/PID/exe; "" if that
// cannot be read (the process is gone) or the program was replaced since it started.
std::string ExecutableOf(pid_t pid);

}  // namespace modelvault::fs
