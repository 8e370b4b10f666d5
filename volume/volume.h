// Volume: an opened store: its verified header, its keys and codecs. No libfuse here, so
// offline tools and tests use it directly. Immutable after Open() and thread-safe.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "volume/content_layout.h"
#include "volume/name_codec.h"
#include "volume/volume_header.h"
#include "volume/volume_keys.h"

namespace modelvault::volume {

class Volume {
 public:
  // Reads the header of `backing_dir`, derives the keys from `master_key` and verifies the
  // header's MAC (Corruption naming modelvault.json if it fails).
  static Result<std::unique_ptr<Volume>> Open(const std::string& backing_dir,
                                              const SecretBytes& master_key);

  const std::string& backing_dir() const { return backing_dir_; }
  const VolumeHeader& header() const { return header_; }
  const std::shared_ptr<const VolumeKeys>& keys() const { return keys_; }
  ContentLayout layout() const { return ContentLayout(header_.block_size); }
  const NameCodec& names() const { return names_; }

 private:
  Volume(std::string backing_dir, VolumeHeader header, std::shared_ptr<const VolumeKeys> keys)
      : backing_dir_(std::move(backing_dir)),
        header_(std::move(header)),
        keys_(keys),
        names_(std::move(keys)) {}
  std::string backing_dir_;
  VolumeHeader header_;
  std::shared_ptr<const VolumeKeys> keys_;
  NameCodec names_;
};

}  // namespace modelvault::volume
