// Strong types for the random identifiers of the on-disk format (docs/FORMAT.md), so that a
// file ID and a directory ID cannot be swapped by accident.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "base/result.h"

namespace modelvault::volume {

template <class Tag>
struct Id16 {
  std::array<uint8_t, 16> bytes{};
  std::span<const uint8_t> span() const { return bytes; }
  bool operator==(const Id16&) const = default;
};

using FileId = Id16<struct FileIdTag>;
using DirId = Id16<struct DirIdTag>;
using VolumeId = Id16<struct VolumeIdTag>;

// Fresh random identifiers.
Result<FileId> NewFileId();
Result<DirId> NewDirId();
Result<VolumeId> NewVolumeId();

}  // namespace modelvault::volume
