// MountConfig: the settings of one mount, read from a YAML file such as
//
//   backing: /srv/models.enc
//   mountpoint: /models
//   read_only: true
//   foreground: false
//   fuse_options: [allow_other]
//   threads: 8
//   log_level: info            # debug | info | warning | error
//   state_file: /var/lib/modelvault/state.json
//   access:                    # who may enter; default: the user who mounts
//     uids: [inference, 1001]  # names or numbers
//     gids: [models]
//     executables: [/usr/bin/python3.11]   # and the process must run one of these
//   signatures:
//     trust: [/etc/modelvault/publisher.pub.pem]
//     require: true            # files outside a validly signed directory cannot be opened
//     allow_rollback: false
//   audit:
//     file: /var/log/modelvault/models.audit
//     syslog: true
//   metrics:
//     file: /var/lib/prometheus/node-exporter/modelvault-models.prom
//     interval: 15             # seconds between rewrites
//   cache:
//     entry_timeout: 10        # seconds the kernel keeps names (0 on a shared mount)
//     attr_timeout: 10         # seconds the kernel keeps attributes
//     keep_page_cache: true    # file pages stay cached across opens
//     readahead_kb: 4096
//   unlock:                    # see unlock_settings.h
//     order: [tpm2, keyfile]
//     keyfile: /etc/modelvault/models.key
//
// docs/CONFIG.md describes every key. To LoadMountConfig every key is optional: one that is
// absent keeps the default below, and the mount command decides which settings it must
// have (it may take backing and mountpoint from its arguments instead). CheckMountConfig,
// behind `modelvault config check`, reads a file as the whole description of one store,
// so there backing and mountpoint are required too. Both report every problem, each as
// "FILE: line N: what" (or "FILE: what" for an unreadable file): a syntax error, more than
// one YAML document, an unknown key (a misspelt setting must not be ignored silently), a
// value of the wrong type (a quoted "true" is a string), a relative path, a repeated entry,
// a user or group name in "access" this host does not know (names are resolved as the
// mount resolves them; numbers are taken as they are), and settings that contradict each
// other (config_conflicts.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/unlock_settings.h"

namespace modelvault::config {

struct MountConfig {
  std::string backing, mountpoint;
  UnlockSettings unlock;
  // From "access": users and groups (names or numbers; names must resolve) and programs.
  std::vector<std::string> allow_uids, allow_gids, allow_executables;
  // From "signatures": public keys (PEM files) whose signed directories are verified,
  // whether unsigned files may be opened at all, and whether an older manifest than one
  // seen before is accepted.
  std::vector<std::string> trust;
  bool require_signatures = false;
  bool allow_rollback = false;
  // From "audit": the audit log file ("" = none) and whether records also go to syslog.
  std::string audit_file;
  bool audit_syslog = false;
  // From "metrics": a Prometheus text-file collector file the daemon rewrites every
  // `metrics_interval` seconds ("" = none; docs/MONITORING.md).
  std::string metrics_file;
  int metrics_interval = 15;
  // From "cache": how long the kernel may keep names and attributes, in seconds (unset:
  // the daemon's defaults, longer on a read-only mount), whether file pages stay cached
  // across opens, and readahead in KiB (unset: the daemon's default).
  std::optional<double> entry_timeout, attr_timeout;
  bool keep_page_cache = true;
  std::optional<int> readahead_kb;
  bool read_only = false;
  bool foreground = false;
  std::vector<std::string> fuse_options;
  int threads = 0;        // 0 = the filesystem's default
  std::string log_level;  // "" (not set), "debug", "info", "warning" or "error"
  // Where this host remembers the newest header generation it has seen ("" = the default,
  // see volume/rollback_state.h).
  std::string state_file;
};

// The settings in `path`, or InvalidArgument listing every problem, one per line.
Result<MountConfig> LoadMountConfig(const std::string& path);

struct CheckedConfig {
  MountConfig config;                 // what could be read
  std::vector<std::string> problems;  // "FILE: line N: what", by line; empty if none
};
// Reads `path` as the complete description of one store: as LoadMountConfig, and
// "backing" and "mountpoint" must be present.
CheckedConfig CheckMountConfig(const std::string& path);

}  // namespace modelvault::config
