// The CLI's side of the audit trail (audit/audit_log.h): where the log is (--audit-log,
// --audit-syslog, or "audit:" in a mount config), opening it for a store, and the records
// every command writes: unlock attempts (signed once the key is known, unsigned when it is
// not), store creation, keyslot changes, mounts and unmounts, refused requests.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "audit/audit_log.h"
#include "base/result.h"
#include "cli/unlock.h"
#include "volume/volume_header.h"
#include "volume/volume_keys.h"

namespace modelvault::cli {

struct AuditSettings {
  std::string file;
  bool syslog = false;
  bool enabled() const { return !file.empty(); }
};

void AddAuditOptions(CLI::App* cmd, AuditSettings* settings);

// The store's audit log, or nullptr if `settings` names none. Opened before the command
// changes anything, so that a log that cannot be written stops it.
Result<std::unique_ptr<audit::AuditLog>> OpenAuditLog(const AuditSettings& settings,
                                                      const volume::VolumeHeader& header);

// The store's Ed25519 audit public key, as the header keeps it.
Result<std::vector<uint8_t>> AuditPublicKey(const volume::VolumeKeys& keys);

// UnlockMasterKey with an "unlock" record of the outcome in `log` (if any) naming
// `command`; on success the log signs from then on. A header whose audit key is not the
// store's is refused (the header MAC, checked later, would refuse it too).
Result<Unlocked> UnlockAudited(const std::string& backing, const volume::VolumeHeader& header,
                               const config::UnlockSettings& settings, audit::AuditLog* log,
                               const std::string& command);

// Records `event` if there is a log; a failure to write is returned with what happened.
Status AuditRecord(audit::AuditLog* log, std::string_view event, nlohmann::json fields);

}  // namespace modelvault::cli
