#include "volume/volume.h"

namespace modelvault::volume {

Result<std::unique_ptr<Volume>> Volume::Open(const std::string& backing_dir,
                                             const SecretBytes& master_key) {
  MV_ASSIGN_OR_RETURN(VolumeHeader header, ReadVolumeHeader(backing_dir));
  MV_ASSIGN_OR_RETURN(std::shared_ptr<const VolumeKeys> keys, VolumeKeys::Derive(master_key));
  MV_RETURN_IF_ERROR(header.Verify(*keys).Annotate(backing_dir + "/" + kHeaderFile));
  // The constructor is private, so make_unique cannot reach it.
  return std::unique_ptr<Volume>(new Volume(backing_dir, std::move(header), std::move(keys)));
}

}  // namespace modelvault::volume
