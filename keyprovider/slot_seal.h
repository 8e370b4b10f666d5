// The keyslot envelope shared by every key provider (docs/FORMAT.md, "Keyslots"): the
// master key sealed with AES-256-GCM under a key-encryption key (KEK) that the provider
// derives from its secret, with a random 12-byte nonce. The associated data is
//
//   "modelvault keyslot v1" || volume ID (16 bytes) || canonical JSON of the slot without
//   its "wrapped_key" field
//
// so that editing, adding or removing any slot field, or copying the slot into another
// store, makes it fail to open. Internal to keyprovider/. Thread-safe free functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "volume/ids.h"

namespace modelvault::keyprovider::internal {

// Adds "nonce" and "wrapped_key" to `slot`, which must hold every other field already.
Status SealSlot(const SecretBytes& kek, const volume::VolumeId& volume_id,
                const SecretBytes& master_key, nlohmann::json* slot);
// The master key in `slot`: PermissionDenied "the key does not open keyslot N" if `kek` or
// any authenticated field is wrong, Corruption if "nonce" or "wrapped_key" is malformed.
Result<SecretBytes> OpenSlot(const SecretBytes& kek, const volume::VolumeId& volume_id,
                             const nlohmann::json& slot);

// Reads the fields a provider needs from a slot; errors are Corruption naming the slot.
class SlotReader {
 public:
  explicit SlotReader(const nlohmann::json& slot);
  // "keyslot N" (or "keyslot ?" for a slot without a usable id), for messages.
  const std::string& name() const { return name_; }
  Status Error(const std::string& what) const;
  // InvalidArgument if the slot's "type" is not `type` (the caller picked the wrong
  // provider); Unsupported if its "kdf" is not `kdf`.
  Status Expect(const std::string& type, const std::string& kdf) const;
  Result<std::string> String(const char* field) const;
  Result<uint64_t> Unsigned(const char* field) const;
  // A base64 field that must decode to exactly `size` bytes.
  Result<std::vector<uint8_t>> Bytes(const char* field, size_t size) const;

 private:
  const nlohmann::json& slot_;
  std::string name_;
};

// Fields every provider writes first: "id", "type", "created" (now, RFC 3339 UTC), "kdf".
nlohmann::json NewSlot(int slot_id, const std::string& type, const std::string& kdf);

}  // namespace modelvault::keyprovider::internal
