#include "cli/audit_trail.h"

#include <unistd.h>

#include "crypto/ed25519.h"
#include "crypto/hex.h"

namespace modelvault::cli {

void AddAuditOptions(CLI::App* cmd, AuditSettings* s) {
  const std::string group = "Audit trail";
  cmd->add_option("--audit-log", s->file,
                  "Append a signed record of this command's key events to FILE "
                  "(check it with `modelvault audit verify`)")
      ->type_name("FILE")
      ->group(group);
  cmd->add_flag("--audit-syslog", s->syslog, "Also send each audit record to syslog/journald")
      ->group(group);
}

Result<std::unique_ptr<audit::AuditLog>> OpenAuditLog(const AuditSettings& settings,
                                                      const volume::VolumeHeader& header) {
  if (!settings.enabled()) return std::unique_ptr<audit::AuditLog>();
  audit::AuditOptions options;
  options.path = settings.file;
  options.syslog = settings.syslog;
  return audit::AuditLog::Open(options, crypto::HexEncode(header.volume_id.span()));
}

Result<std::vector<uint8_t>> AuditPublicKey(const volume::VolumeKeys& keys) {
  MV_ASSIGN_OR_RETURN(SecretBytes seed, keys.AuditSeed());
  MV_ASSIGN_OR_RETURN(auto key, crypto::Ed25519PrivateKey::FromSeed(seed));
  return key.PublicKey();
}

Status AuditRecord(audit::AuditLog* log, std::string_view event, nlohmann::json fields) {
  if (log == nullptr) return Status::Ok();
  Status st = log->Record(event, std::move(fields));
  if (!st.ok()) return st.Annotate("writing the audit record \"" + std::string(event) + "\"");
  return Status::Ok();
}

Result<Unlocked> UnlockAudited(const std::string& backing, const volume::VolumeHeader& header,
                               const config::UnlockSettings& settings, audit::AuditLog* log,
                               const std::string& command) {
  Result<Unlocked> unlocked = UnlockMasterKey(backing, header, settings);
  if (log == nullptr) return unlocked;
  if (!unlocked.ok()) {
    // Nobody can sign without the key: the record is chained but unsigned, and the next
    // signed record covers it.
    MV_RETURN_IF_ERROR(AuditRecord(
        log, "unlock",
        {{"command", command}, {"outcome", "failed"}, {"reason", unlocked.status().message()}}));
    return unlocked;
  }
  MV_ASSIGN_OR_RETURN(auto keys, volume::VolumeKeys::Derive(unlocked->master_key));
  MV_ASSIGN_OR_RETURN(SecretBytes seed, keys->AuditSeed());
  if (!header.audit_key.empty()) {
    MV_ASSIGN_OR_RETURN(std::vector<uint8_t> mine, AuditPublicKey(*keys));
    if (mine != header.audit_key) {
      return Status::Corruption(backing + "/" + volume::kHeaderFile +
                                ": the audit key is not this store's (the header was edited)");
    }
  }
  MV_RETURN_IF_ERROR(log->SetSigningSeed(seed));
  MV_RETURN_IF_ERROR(AuditRecord(log, "unlock",
                                 {{"command", command},
                                  {"outcome", "opened"},
                                  {"slot", unlocked->slot_id},
                                  {"slot_type", unlocked->slot_type}}));
  return unlocked;
}

}  // namespace modelvault::cli
