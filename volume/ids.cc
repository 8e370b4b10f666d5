#include "volume/ids.h"

#include "crypto/random.h"

namespace modelvault::volume {
namespace {

template <class Id>
Result<Id> NewId() {
  Id id;
  MV_RETURN_IF_ERROR(crypto::RandomBytes(id.bytes));
  return id;
}

}  // namespace

Result<FileId> NewFileId() { return NewId<FileId>(); }
Result<DirId> NewDirId() { return NewId<DirId>(); }
Result<VolumeId> NewVolumeId() { return NewId<VolumeId>(); }

}  // namespace modelvault::volume
