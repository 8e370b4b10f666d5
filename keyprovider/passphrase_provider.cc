// The passphrase provider: a KEK stretched from a passphrase with scrypt, its parameters
// and a random salt kept in the slot (docs/FORMAT.md, "Keyslots").
#include <array>
#include <optional>

#include "crypto/base64.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "keyprovider/key_provider.h"
#include "keyprovider/slot_seal.h"

namespace modelvault::keyprovider {
namespace {

using nlohmann::json;

constexpr char kType[] = "passphrase";
constexpr char kKdf[] = "scrypt";
constexpr size_t kSaltSize = 16;
constexpr size_t kKekSize = 32;
// The parameters come from the header, which anyone with write access to the backing dir
// can edit; these bounds keep a hostile slot from making unlock take unbounded memory or
// time. N = 2^22 with r = 8 already needs 4 GiB.
constexpr uint64_t kMaxN = uint64_t{1} << 22;
constexpr uint64_t kMaxRTimesP = 64;
constexpr uint64_t kMaxMemory = uint64_t{4} << 30;

// What is wrong with `n`, `r`, `p`, or nothing if they are within this build's limits.
std::optional<std::string> ParamsProblem(uint64_t n, uint64_t r, uint64_t p) {
  if (n < 2 || (n & (n - 1)) != 0) return "scrypt n must be a power of two";
  if (r == 0 || p == 0) return "scrypt r and p must be at least 1";
  if (n > kMaxN) return "scrypt n is larger than 2^22";
  // r and p are bounded one by one first so that their product cannot overflow.
  if (r > kMaxRTimesP || p > kMaxRTimesP || r * p > kMaxRTimesP)
    return "scrypt r*p is larger than 64";
  if (128 * n * r > kMaxMemory) return "scrypt parameters need more than 4 GiB";
  return std::nullopt;
}

class PassphraseProvider final : public KeyProvider {
 public:
  PassphraseProvider(SecretBytes passphrase, crypto::ScryptParams params)
      : passphrase_(std::move(passphrase)), params_(params) {}

  std::string Type() const override { return kType; }

  Result<json> Enrol(const SecretBytes& master_key, const volume::VolumeId& volume_id,
                     int slot_id) override {
    if (passphrase_.empty()) return Status::InvalidArgument("the passphrase is empty");
    if (auto problem = ParamsProblem(params_.n, params_.r, params_.p)) {
      return Status::InvalidArgument(*problem);
    }
    std::array<uint8_t, kSaltSize> salt;
    MV_RETURN_IF_ERROR(crypto::RandomBytes(salt));
    MV_ASSIGN_OR_RETURN(SecretBytes kek,
                        crypto::Scrypt(passphrase_.span(), salt, params_, kKekSize));
    json slot = internal::NewSlot(slot_id, kType, kKdf);
    slot["n"] = params_.n;
    slot["r"] = params_.r;
    slot["p"] = params_.p;
    slot["salt"] = crypto::Base64Encode(salt);
    MV_RETURN_IF_ERROR(internal::SealSlot(kek, volume_id, master_key, &slot));
    return slot;
  }

  Result<SecretBytes> Unlock(const json& slot, const volume::VolumeId& volume_id) override {
    internal::SlotReader reader(slot);
    MV_RETURN_IF_ERROR(reader.Expect(kType, kKdf));
    MV_ASSIGN_OR_RETURN(uint64_t n, reader.Unsigned("n"));
    MV_ASSIGN_OR_RETURN(uint64_t r, reader.Unsigned("r"));
    MV_ASSIGN_OR_RETURN(uint64_t p, reader.Unsigned("p"));
    if (auto problem = ParamsProblem(n, r, p)) return reader.Error(*problem);
    MV_ASSIGN_OR_RETURN(std::vector<uint8_t> salt, reader.Bytes("salt", kSaltSize));
    crypto::ScryptParams params{n, static_cast<uint32_t>(r), static_cast<uint32_t>(p)};
    MV_ASSIGN_OR_RETURN(SecretBytes kek,
                        crypto::Scrypt(passphrase_.span(), salt, params, kKekSize));
    return internal::OpenSlot(kek, volume_id, slot);
  }

 private:
  const SecretBytes passphrase_;
  const crypto::ScryptParams params_;
};

}  // namespace

std::unique_ptr<KeyProvider> NewPassphraseProvider(SecretBytes passphrase,
                                                   crypto::ScryptParams params) {
  return std::make_unique<PassphraseProvider>(std::move(passphrase), params);
}

}  // namespace modelvault::keyprovider
