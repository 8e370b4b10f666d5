// The fields of a tpm2 keyslot (docs/FORMAT.md, "Keyslots", type tpm2) besides the envelope that
// internal::SealSlot adds. Every field is covered by the envelope's associated data, so an
// edit that gets past these checks still fails to open the slot.
//
//   "tcti"            TCTI used at enrolment (Unlock's default)
//   "parent"          "srk-ecc-p256": the sealed object's parent (esys.h, CreateSrk)
//   "parent_name"     hex of that SRK's TPM name: another TPM derives another SRK
//   "pcr_bank"        "sha256"
//   "pcrs"            [int, ...] ascending, unique, 0..23 (may be empty)
//   "pcr_values"      {"7": "hex", ...}: each PCR's value at enrolment, to name the PCRs
//                     that changed when the policy no longer holds
//   "pin"             bool: the sealed object's authValue derives from a PIN
//   "pin_salt"        base64 of 16 bytes, present exactly when "pin" is true
//   "sealed_public"   base64 of the marshalled TPM2B_PUBLIC of the sealed object
//   "sealed_private"  base64 of the marshalled TPM2B_PRIVATE
//
// Internal to keyprovider/tpm2. Thread-safe free functions.
#pragma once

#include <tss2/tss2_tpm2_types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/hash.h"
#include "keyprovider/slot_seal.h"

namespace modelvault::keyprovider::tpm2 {

inline constexpr char kSlotType[] = "tpm2";
inline constexpr char kSlotKdf[] = "tpm2-seal";
inline constexpr size_t kPinSaltSize = 16;

struct Tpm2Slot {
  std::string tcti;
  std::vector<uint8_t> parent_name;
  std::vector<int> pcrs;
  std::vector<crypto::Digest> pcr_values;  // one per entry of `pcrs`
  bool pin = false;
  std::vector<uint8_t> pin_salt;  // kPinSaltSize bytes when `pin`, else empty
  TPM2B_PUBLIC sealed_public{};
  TPM2B_PRIVATE sealed_private{};
};

// Adds the fields above to `slot` (which holds internal::NewSlot's fields).
Status WriteTpm2Fields(const Tpm2Slot& fields, nlohmann::json* slot);
// The fields of `slot`; Corruption naming the slot if one is missing or malformed,
// Unsupported for a parent or PCR bank this build does not know.
Result<Tpm2Slot> ReadTpm2Fields(const internal::SlotReader& reader, const nlohmann::json& slot);

}  // namespace modelvault::keyprovider::tpm2
