// MountOptions: how the filesystem serves a store. Plain data, filled in by the command line
// or the YAML config.
#pragma once

#include <functional>
#include <string>
#include <vector>

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
  // sets the size of the read requests a sequential reader causes.
  int readahead_kb = 1024;
  // Let the kernel cache writes (read-write mounts only).
  bool writeback_cache = true;
};

}  // namespace modelvault::fs
