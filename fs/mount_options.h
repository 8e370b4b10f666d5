// MountOptions: how the filesystem serves a store. Plain data, filled in by the command line
// or the YAML config.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "fs/access_policy.h"
#include "fs/signed_tree.h"

namespace modelvault::fs {

struct MountOptions {
  std::string mountpoint;
  bool read_only = false;
  // Extra options for the kernel mount ("allow_other", "ro", ...), as given to -o.
  std::vector<std::string> fuse_options;
  // Upper bound on request threads; 0 picks libfuse's default.
  int max_threads = 0;
  // How long the kernel may cache names and attributes, in seconds.
  double entry_timeout = 1.0;
  double attr_timeout = 1.0;
  // Kernel readahead for the mount, in KiB; 0 keeps the kernel's default (128). Readahead
  // sets how many 1 MiB read requests a sequential reader keeps in flight: with 4 MiB,
  // the daemon decrypts (and verifies) some while the backing disk reads the next, where
  // 1 MiB left the cores idle during every backing read.
  int readahead_kb = 4096;
  // Let file pages stay in the kernel's cache from one open to the next; off, each open
  // drops them and reads go back to the daemon (and are verified again).
  bool keep_cache = true;
  // If set, a mount namespace file (/proc/1/ns/mnt): the kernel mount is made and removed
  // there rather than in the daemon's own namespace (fs/mount_namespace.h).
  std::string mount_namespace;
  // Let the kernel cache writes (read-write mounts only).
  bool writeback_cache = true;
  // Who may enter (fs/access_gate.h), and who mounted: if the policy admits anyone else, the
  // mount gets allow_other and the kernel caches no entries (see AccessGate).
  AccessPolicy access;
  uid_t mounter = 0;
  // Told of every refused request (the audit trail); may be empty.
  std::function<void(const DeniedRequest&)> on_denied;
  // Signed directories: trusted keys and rules (signed_tree.h), and who hears of failures.
  SignaturePolicy signatures;
  SignatureFailureFn on_signature_failure;
  // What the daemon reports about itself (mount_status.h): the keyslot that opened the
  // store and the program's version; and the metrics file it rewrites every
  // metrics_interval seconds ("" = none; docs/MONITORING.md).
  int unlock_slot = -1;
  std::string unlock_type;
  std::string version;
  std::string metrics_file;
  int metrics_interval = 15;
};

// True if users other than the one who mounted can reach the mount: the policy admits them,
// or allow_other was asked for. Such a mount gets allow_other, and the kernel must not
// answer one user from entries cached for another (access_gate.h).
inline bool IsShared(const MountOptions& options) {
  for (const auto& opt : options.fuse_options) {
    if (opt == "allow_other") return true;
  }
  return options.access.AdmitsOthers(options.mounter);
}

}  // namespace modelvault::fs
