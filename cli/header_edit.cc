#include "cli/header_edit.h"

#include "cli/audit_trail.h"
#include "crypto/hex.h"
#include "volume/rollback_state.h"
#include "volume/store_lock.h"

namespace modelvault::cli {
namespace {

std::string StateKey(const volume::VolumeHeader& header) {
  return "header:" + crypto::HexEncode(header.volume_id.span());
}

}  // namespace

Status VerifyHeader(const std::string& backing, const volume::VolumeHeader& header,
                    const volume::VolumeKeys& keys, int opened_slot,
                    const std::string& state_path) {
  const std::string path = backing + "/" + volume::kHeaderFile;
  Status verified = header.Verify(keys);
  if (!verified.ok()) {
    return Status::Corruption(path + ": " + verified.message() + " (keyslot " +
                              std::to_string(opened_slot) + " opened; the slot list around it " +
                              "was changed without the store's key)");
  }
  return volume::CheckAndRecordVersion(state_path, StateKey(header), header.generation,
                                       "the header " + path);
}

Status EditHeader(const std::string& backing, const config::UnlockSettings& unlock,
                  audit::AuditLog* log, const std::string& command, const HeaderEdit& edit) {
  // Unlocking may wait at a prompt; the lock is taken only once the key is known.
  MV_ASSIGN_OR_RETURN(volume::VolumeHeader first, volume::ReadVolumeHeader(backing));
  MV_ASSIGN_OR_RETURN(Unlocked unlocked, UnlockAudited(backing, first, unlock, log, command));
  MV_ASSIGN_OR_RETURN(auto keys, volume::VolumeKeys::Derive(unlocked.master_key));
  return EditHeaderWithKeys(backing, unlocked, *keys, edit);
}

Status EditHeaderWithKeys(const std::string& backing, const Unlocked& unlocked,
                          const volume::VolumeKeys& keys, const HeaderEdit& edit,
                          const std::string& state_file) {
  const std::string state_path =
      state_file.empty() ? volume::DefaultRollbackStatePath() : state_file;

  MV_ASSIGN_OR_RETURN(UniqueFd lock, volume::LockHeaderForEditing(backing));
  // Another command may have changed the header meanwhile; the key is the same.
  MV_ASSIGN_OR_RETURN(volume::VolumeHeader header, volume::ReadVolumeHeader(backing));
  MV_RETURN_IF_ERROR(VerifyHeader(backing, header, keys, unlocked.slot_id, state_path));
  MV_RETURN_IF_ERROR(edit(header, unlocked));
  if (header.audit_key.empty()) {
    MV_ASSIGN_OR_RETURN(header.audit_key, AuditPublicKey(keys));
  }
  ++header.generation;
  MV_RETURN_IF_ERROR(header.Seal(keys));
  MV_RETURN_IF_ERROR(volume::WriteVolumeHeader(backing, header));
  return volume::CheckAndRecordVersion(state_path, StateKey(header), header.generation,
                                       "the header " + backing + "/" + volume::kHeaderFile);
}

}  // namespace modelvault::cli
