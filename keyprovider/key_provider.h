// KeyProvider: wraps the volume's master key into a keyslot, and unwraps it again.
//
// A keyslot is a JSON object in the volume header (docs/FORMAT.md, "Keyslots") with at
// least "id", "type" and "created"; everything else belongs to the provider that made it.
// Every slot is authenticated: the wrapped key is sealed with AES-256-GCM whose associated
// data covers the volume ID and every other field of the slot, so an edited slot, or one
// copied from another store, fails to unlock (PermissionDenied, as a wrong key does).
//
// Implementations are final classes behind the factories below; each instance holds the
// secret it was built with (a key file's bytes, a passphrase) in locked memory.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "crypto/kdf.h"
#include "volume/ids.h"

namespace modelvault::keyprovider {

class KeyProvider {
 public:
  virtual ~KeyProvider() = default;
  // The slot "type" this provider makes and opens: "keyfile", "passphrase", ...
  virtual std::string Type() const = 0;
  // A new slot holding `master_key` for the store `volume_id`, with "id" set to `slot_id`.
  virtual Result<nlohmann::json> Enrol(const SecretBytes& master_key,
                                       const volume::VolumeId& volume_id, int slot_id) = 0;
  // The master key from `slot`: PermissionDenied if this provider's secret does not open it,
  // Corruption if the slot is malformed.
  virtual Result<SecretBytes> Unlock(const nlohmann::json& slot,
                                     const volume::VolumeId& volume_id) = 0;
};

// A 32-byte key file's contents.
std::unique_ptr<KeyProvider> NewKeyfileProvider(SecretBytes key);
// A passphrase, stretched with scrypt (`params` apply to slots it enrols).
std::unique_ptr<KeyProvider> NewPassphraseProvider(SecretBytes passphrase,
                                                   crypto::ScryptParams params = {});

}  // namespace modelvault::keyprovider
