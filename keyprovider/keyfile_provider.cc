// The keyfile and recovery providers: a KEK derived from 32 random bytes (a key file's
// contents, or a recovery key) by HKDF-SHA256 with a random per-slot salt and a label per
// slot type (docs/FORMAT.md, "Keyslots"). The secret is already uniformly random, so no
// slow KDF is needed.
#include <array>

#include "crypto/base64.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "keyprovider/key_provider.h"
#include "keyprovider/slot_seal.h"

namespace modelvault::keyprovider {
namespace {

using nlohmann::json;

constexpr char kKdf[] = "hkdf-sha256";
constexpr size_t kKeySize = 32;
constexpr size_t kSaltSize = 16;
constexpr size_t kKekSize = 32;

// What tells the two slot types apart: the type name, the HKDF label and how the secret
// is called in messages.
struct RawKeyKind {
  const char* type;
  std::string_view kek_label;
  const char* secret_name;
};
constexpr RawKeyKind kKeyfile{"keyfile", "modelvault v1 keyfile-slot", "a key file"};
constexpr RawKeyKind kRecovery{"recovery", "modelvault v1 recovery-slot", "a recovery key"};

class RawKeyProvider final : public KeyProvider {
 public:
  RawKeyProvider(const RawKeyKind& kind, SecretBytes key) : kind_(kind), key_(std::move(key)) {}

  std::string Type() const override { return kind_.type; }

  Result<json> Enrol(const SecretBytes& master_key, const volume::VolumeId& volume_id,
                     int slot_id) override {
    std::array<uint8_t, kSaltSize> salt;
    MV_RETURN_IF_ERROR(crypto::RandomBytes(salt));
    MV_ASSIGN_OR_RETURN(SecretBytes kek, Kek(salt));
    json slot = internal::NewSlot(slot_id, kind_.type, kKdf);
    slot["salt"] = crypto::Base64Encode(salt);
    MV_RETURN_IF_ERROR(internal::SealSlot(kek, volume_id, master_key, &slot));
    return slot;
  }

  Result<SecretBytes> Unlock(const json& slot, const volume::VolumeId& volume_id) override {
    internal::SlotReader reader(slot);
    MV_RETURN_IF_ERROR(reader.Expect(kind_.type, kKdf));
    MV_ASSIGN_OR_RETURN(std::vector<uint8_t> salt, reader.Bytes("salt", kSaltSize));
    MV_ASSIGN_OR_RETURN(SecretBytes kek, Kek(salt));
    return internal::OpenSlot(kek, volume_id, slot);
  }

 private:
  Result<SecretBytes> Kek(std::span<const uint8_t> salt) const {
    // The factory cannot fail, so a key of the wrong size is refused here, at first use.
    if (key_.size() != kKeySize) {
      return Status::InvalidArgument(std::string(kind_.secret_name) +
                                     " must be exactly 32 bytes (this one has " +
                                     std::to_string(key_.size()) + ")");
    }
    return crypto::HkdfSha256(key_.span(), salt, crypto::AsBytes(kind_.kek_label), kKekSize);
  }

  const RawKeyKind& kind_;
  const SecretBytes key_;
};

}  // namespace

std::unique_ptr<KeyProvider> NewKeyfileProvider(SecretBytes key) {
  return std::make_unique<RawKeyProvider>(kKeyfile, std::move(key));
}

std::unique_ptr<KeyProvider> NewRecoveryKeyProvider(SecretBytes key) {
  return std::make_unique<RawKeyProvider>(kRecovery, std::move(key));
}

}  // namespace modelvault::keyprovider
