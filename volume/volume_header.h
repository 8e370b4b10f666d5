// VolumeHeader: the store's parameters and keyslots, kept in BACKING/modelvault.json
// (docs/FORMAT.md, "Volume header"). Readable without any key (for `modelvault info` and
// to find the keyslots); authenticated by an HMAC under a key derived from the master key,
// which Verify() checks once the master key is known, so a tampered parameter or a slot
// swapped in from elsewhere is caught at mount.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "volume/content_layout.h"
#include "volume/ids.h"
#include "volume/volume_keys.h"

namespace modelvault::volume {

inline constexpr int kFormatVersion = 1;
inline constexpr char kHeaderFile[] = "modelvault.json";
inline constexpr char kLockFile[] = "modelvault.lock";

struct VolumeHeader {
  int version = kFormatVersion;
  VolumeId volume_id;
  std::string cipher = "AES-256-GCM";
  std::string name_cipher = "AES-256-SIV";
  uint32_t block_size = kDefaultBlockSize;
  std::string created;  // RFC 3339, UTC
  // Each slot is an object with at least "id" (integer) and "type" (string); the rest is the
  // key provider's business (keyprovider/).
  std::vector<nlohmann::json> keyslots;
  // Counts the header's edits (keyslot add/remove); a host remembers the highest it has
  // seen (rollback_state.h), so an old header, with a slot since removed, is refused.
  uint64_t generation = 0;
  // The Ed25519 public key that verifies the store's audit log (VolumeKeys::AuditSeed);
  // empty in stores made before audit logs existed.
  std::vector<uint8_t> audit_key;
  std::string mac;  // base64 of HMAC-SHA256 over CanonicalBody()

  // Parses the text of modelvault.json. Errors name `path` and what is wrong: a syntax
  // error with its line, an unsupported version, a missing or mistyped field.
  static Result<VolumeHeader> Parse(std::string_view text, const std::string& path);
  // Compact JSON with sorted keys and without "mac": exactly the bytes the MAC covers.
  std::string CanonicalBody() const;
  // Every field but "mac", keyslots included.
  nlohmann::json ToJson() const;
  // The file's contents: indented JSON including "mac".
  std::string Serialize() const;
  // Sets `mac` for the current contents.
  Status Seal(const VolumeKeys& keys);
  // Corruption if `mac` does not match the contents under `keys`.
  Status Verify(const VolumeKeys& keys) const;
  // The smallest slot id not in use.
  int NextSlotId() const;
};

// Reads BACKING/modelvault.json. NotFound, naming the directory, if it is not a store.
Result<VolumeHeader> ReadVolumeHeader(const std::string& backing_dir);
// Replaces BACKING/modelvault.json atomically.
Status WriteVolumeHeader(const std::string& backing_dir, const VolumeHeader& header);

// Makes `backing_dir` (created if missing; it must be empty otherwise) a store: the root
// directory ID, the lock file, and the header (sealed here). Leaves the directory as it was
// found if any step fails.
Status InitializeStore(const std::string& backing_dir, VolumeHeader header, const VolumeKeys& keys);

}  // namespace modelvault::volume
