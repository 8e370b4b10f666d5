#include "keyprovider/slot_seal.h"

#include <array>
#include <string_view>

#include "base/time_util.h"
#include "crypto/aes_gcm.h"
#include "crypto/base64.h"
#include "crypto/kdf.h"
#include "crypto/random.h"

namespace modelvault::keyprovider::internal {
namespace {

using crypto::AesGcm;
using nlohmann::json;

constexpr std::string_view kAadLabel = "modelvault keyslot v1";
// The master key is 32 bytes (volume::kMasterKeySize); keyprovider/ does not include the
// volume library's headers beyond ids.h, so the size is repeated here.
constexpr size_t kMasterKeySize = 32;

std::string Aad(const volume::VolumeId& volume_id, json slot) {
  slot.erase("wrapped_key");
  std::string aad(kAadLabel);
  aad.append(reinterpret_cast<const char*>(volume_id.bytes.data()), volume_id.bytes.size());
  // Sorted keys, no whitespace: the same text for the same fields however the header was
  // formatted on disk. Replacing invalid UTF-8 keeps dump() from throwing.
  aad += slot.dump(-1, ' ', false, json::error_handler_t::replace);
  return aad;
}

// True for integers >= 0, whether nlohmann holds them as signed (built in memory from an
// int) or unsigned (parsed from text).
bool IsNonNegativeInteger(const json& value) {
  return value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0);
}

std::string SlotName(const json& slot) {
  auto id = slot.is_object() ? slot.find("id") : slot.end();
  if (id == slot.end() || !IsNonNegativeInteger(*id)) return "keyslot ?";
  return "keyslot " + std::to_string(id->get<uint64_t>());
}

}  // namespace

Status SealSlot(const SecretBytes& kek, const volume::VolumeId& volume_id,
                const SecretBytes& master_key, json* slot) {
  if (master_key.size() != kMasterKeySize) {
    return Status::InvalidArgument("the master key must be 32 bytes");
  }
  MV_ASSIGN_OR_RETURN(AesGcm gcm, AesGcm::New(kek.span()));
  std::array<uint8_t, AesGcm::kNonceSize> nonce;
  MV_RETURN_IF_ERROR(crypto::RandomBytes(nonce));
  (*slot)["nonce"] = crypto::Base64Encode(nonce);
  std::string aad = Aad(volume_id, *slot);
  std::vector<uint8_t> wrapped(kMasterKeySize + AesGcm::kTagSize);
  std::span<uint8_t> out(wrapped);
  MV_RETURN_IF_ERROR(gcm.Seal(out.first(kMasterKeySize), out.subspan(kMasterKeySize), nonce,
                              crypto::AsBytes(aad), master_key.span()));
  (*slot)["wrapped_key"] = crypto::Base64Encode(wrapped);
  return Status::Ok();
}

Result<SecretBytes> OpenSlot(const SecretBytes& kek, const volume::VolumeId& volume_id,
                             const json& slot) {
  SlotReader reader(slot);
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> nonce, reader.Bytes("nonce", AesGcm::kNonceSize));
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> wrapped,
                      reader.Bytes("wrapped_key", kMasterKeySize + AesGcm::kTagSize));
  MV_ASSIGN_OR_RETURN(AesGcm gcm, AesGcm::New(kek.span()));
  std::span<const uint8_t> in(wrapped);
  SecretBytes master_key(kMasterKeySize);
  std::string aad = Aad(volume_id, slot);
  Status st = gcm.Open(master_key.span(), nonce, crypto::AsBytes(aad), in.first(kMasterKeySize),
                       in.subspan(kMasterKeySize));
  // A wrong secret and an edited slot look alike to GCM; both mean "this key does not open
  // it", and the caller may go on to try other slots.
  if (st.code() == Code::kCorruption) {
    return Status::PermissionDenied("the key does not open " + reader.name());
  }
  MV_RETURN_IF_ERROR(st);
  return master_key;
}

SlotReader::SlotReader(const json& slot) : slot_(slot), name_(SlotName(slot)) {}

Status SlotReader::Error(const std::string& what) const {
  return Status::Corruption(name_ + ": " + what);
}

Status SlotReader::Expect(const std::string& type, const std::string& kdf) const {
  MV_ASSIGN_OR_RETURN(std::string slot_type, String("type"));
  if (slot_type != type) {
    return Status::InvalidArgument(name_ + " is a " + slot_type + " slot, not a " + type + " slot");
  }
  MV_ASSIGN_OR_RETURN(std::string slot_kdf, String("kdf"));
  if (slot_kdf != kdf) {
    return Status::Unsupported(name_ + ": kdf \"" + slot_kdf + "\" is not supported for " + type +
                               " slots (this build knows \"" + kdf + "\")");
  }
  return Status::Ok();
}

Result<std::string> SlotReader::String(const char* field) const {
  auto it = slot_.is_object() ? slot_.find(field) : slot_.end();
  if (it == slot_.end() || !it->is_string()) {
    return Error("field \"" + std::string(field) + "\" must be a string");
  }
  return it->get<std::string>();
}

Result<uint64_t> SlotReader::Unsigned(const char* field) const {
  auto it = slot_.is_object() ? slot_.find(field) : slot_.end();
  if (it == slot_.end() || !IsNonNegativeInteger(*it)) {
    return Error("field \"" + std::string(field) + "\" must be a non-negative integer");
  }
  return it->get<uint64_t>();
}

Result<std::vector<uint8_t>> SlotReader::Bytes(const char* field, size_t size) const {
  MV_ASSIGN_OR_RETURN(std::string text, String(field));
  auto bytes = crypto::Base64Decode(text);
  if (!bytes.ok() || bytes->size() != size) {
    return Error("field \"" + std::string(field) + "\" must be base64 of " + std::to_string(size) +
                 " bytes");
  }
  return std::move(bytes).value();
}

json NewSlot(int slot_id, const std::string& type, const std::string& kdf) {
  return json{{"id", slot_id}, {"type", type}, {"created", NowRfc3339Utc()}, {"kdf", kdf}};
}

}  // namespace modelvault::keyprovider::internal
