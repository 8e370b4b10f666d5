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
#include <optional>
#include <string>
#include <vector>

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
// A recovery key (see recovery_key.h for its printed form): 32 random bytes.
std::unique_ptr<KeyProvider> NewRecoveryKeyProvider(SecretBytes key);
// A passphrase, stretched with scrypt (`params` apply to slots it enrols).
std::unique_ptr<KeyProvider> NewPassphraseProvider(SecretBytes passphrase,
                                                   crypto::ScryptParams params = {});

// A KEK sealed to a TPM 2.0 (docs/FORMAT.md, "Keyslots", type tpm2), optionally bound to PCR values
// and a PIN.
struct Tpm2Options {
  // The TCTI configuration, as Tss2_TctiLdr_Initialize takes it ("device:/dev/tpmrm0",
  // "swtpm:path=SOCKET", "swtpm:host=H,port=P"). Empty: Enrol uses kDefaultTpm2Tcti, Unlock
  // the TCTI recorded in the slot.
  std::string tcti;
  // Enrol only: the SHA-256 PCRs the slot is bound to (empty: none).
  std::vector<int> pcrs;
  // Enrol: bind the slot to this PIN. Unlock: required for slots enrolled with a PIN.
  std::optional<SecretBytes> pin;
};
inline constexpr char kDefaultTpm2Tcti[] = "device:/dev/tpmrm0";
std::unique_ptr<KeyProvider> NewTpm2Provider(Tpm2Options options);

// A KEK wrapped by a key inside a PKCS#11 token (docs/FORMAT.md, "Keyslots", type pkcs11): a
// non-extractable AES key (AES key wrap), or an RSA key pair (RSA-OAEP; a slot can be
// enrolled from the public key alone, without the PIN).
struct Pkcs11Options {
  // RFC 7512 URI choosing the token and exactly one key ("pkcs11:token=ops;object=mv-kek").
  // Unlock: empty means the URI recorded in the slot.
  std::string uri;
  // Path of the PKCS#11 module; empty: p11-kit's proxy module (p11-kit's configured modules).
  std::string module;
  // The user PIN; needed to unwrap, and to enrol with an AES key.
  std::optional<SecretBytes> pin;
};
std::unique_ptr<KeyProvider> NewPkcs11Provider(Pkcs11Options options);

}  // namespace modelvault::keyprovider
