// The keyfile provider: a KEK derived from a 32-byte key file by HKDF-SHA256 with a random
// per-slot salt (docs/FORMAT.md, "Keyslots").
#include <array>

#include "crypto/base64.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "keyprovider/key_provider.h"
#include "keyprovider/slot_seal.h"

namespace modelvault::keyprovider {
namespace {

using nlohmann::json;

constexpr char kType[] = "keyfile";
constexpr char kKdf[] = "hkdf-sha256";
constexpr std::string_view kKekLabel = "modelvault v1 keyfile-slot";
constexpr size_t kKeySize = 32;
constexpr size_t kSaltSize = 16;
constexpr size_t kKekSize = 32;

class KeyfileProvider final : public KeyProvider {
 public:
  explicit KeyfileProvider(SecretBytes key) : key_(std::move(key)) {}

  std::string Type() const override { return kType; }

  Result<json> Enrol(const SecretBytes& master_key, const volume::VolumeId& volume_id,
                     int slot_id) override {
    std::array<uint8_t, kSaltSize> salt;
    MV_RETURN_IF_ERROR(crypto::RandomBytes(salt));
    MV_ASSIGN_OR_RETURN(SecretBytes kek, Kek(salt));
    json slot = internal::NewSlot(slot_id, kType, kKdf);
    slot["salt"] = crypto::Base64Encode(salt);
    MV_RETURN_IF_ERROR(internal::SealSlot(kek, volume_id, master_key, &slot));
    return slot;
  }

  Result<SecretBytes> Unlock(const json& slot, const volume::VolumeId& volume_id) override {
    internal::SlotReader reader(slot);
    MV_RETURN_IF_ERROR(reader.Expect(kType, kKdf));
    MV_ASSIGN_OR_RETURN(std::vector<uint8_t> salt, reader.Bytes("salt", kSaltSize));
    MV_ASSIGN_OR_RETURN(SecretBytes kek, Kek(salt));
    return internal::OpenSlot(kek, volume_id, slot);
  }

 private:
  Result<SecretBytes> Kek(std::span<const uint8_t> salt) const {
    // The factory cannot fail, so a key of the wrong size is refused here, at first use.
    if (key_.size() != kKeySize) {
      return Status::InvalidArgument("a key file must be exactly 32 bytes (this one has " +
                                     std::to_string(key_.size()) + ")");
    }
    return crypto::HkdfSha256(key_.span(), salt, crypto::AsBytes(kKekLabel), kKekSize);
  }

  const SecretBytes key_;
};

}  // namespace

std::unique_ptr<KeyProvider> NewKeyfileProvider(SecretBytes key) {
  return std::make_unique<KeyfileProvider>(std::move(key));
}

}  // namespace modelvault::keyprovider
