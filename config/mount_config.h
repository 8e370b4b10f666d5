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
//   unlock:                    # see unlock_settings.h
//     order: [tpm2, keyfile]
//     keyfile: /etc/modelvault/models.key
//
// Every key is optional; one that is absent keeps the default below, and the mount command
// decides which settings it must have (it may take them from its arguments instead).
// Errors name the file and the line: a syntax error, an unknown key (a misspelt setting
// must not be ignored silently), a value of the wrong type.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "config/unlock_settings.h"

namespace modelvault::config {

struct MountConfig {
  std::string backing, mountpoint;
  UnlockSettings unlock;
  // From "access": users and groups (names or numbers, resolved at mount) and programs.
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
  bool read_only = false;
  bool foreground = false;
  std::vector<std::string> fuse_options;
  int threads = 0;        // 0 = the filesystem's default
  std::string log_level;  // "" (not set), "debug", "info", "warning" or "error"
  // Where this host remembers the newest header generation it has seen ("" = the default,
  // see volume/rollback_state.h).
  std::string state_file;
};

Result<MountConfig> LoadMountConfig(const std::string& path);

}  // namespace modelvault::config
