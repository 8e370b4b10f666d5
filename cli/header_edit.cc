#include "cli/header_edit.h"

#include "volume/store_lock.h"
#include "volume/volume_keys.h"

namespace modelvault::cli {

Status EditHeader(const std::string& backing, const config::UnlockSettings& unlock,
                  const HeaderEdit& edit) {
  MV_ASSIGN_OR_RETURN(UniqueFd lock, volume::LockHeaderForEditing(backing));
  MV_ASSIGN_OR_RETURN(volume::VolumeHeader header, volume::ReadVolumeHeader(backing));
  MV_ASSIGN_OR_RETURN(Unlocked unlocked, UnlockMasterKey(backing, header, unlock));
  MV_ASSIGN_OR_RETURN(auto keys, volume::VolumeKeys::Derive(unlocked.master_key));
  Status verified = header.Verify(*keys);
  if (!verified.ok()) return verified.Annotate(backing + "/" + volume::kHeaderFile);
  MV_RETURN_IF_ERROR(edit(header, unlocked));
  MV_RETURN_IF_ERROR(header.Seal(*keys));
  return volume::WriteVolumeHeader(backing, header);
}

}  // namespace modelvault::cli
