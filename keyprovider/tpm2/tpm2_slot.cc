#include "keyprovider/tpm2/tpm2_slot.h"

#include <tss2/tss2_mu.h>

#include <cstring>

#include "crypto/base64.h"
#include "crypto/hex.h"
#include "keyprovider/tpm2/tpm2_policy.h"

namespace modelvault::keyprovider::tpm2 {
namespace {

using nlohmann::json;

constexpr char kParent[] = "srk-ecc-p256";
constexpr char kPcrBank[] = "sha256";

// Marshals a TPM2B with its Tss2_MU function into base64.
template <class T, class Marshal>
Result<std::string> Marshalled(const T& value, Marshal marshal) {
  std::vector<uint8_t> buffer(sizeof(T));
  size_t offset = 0;
  TSS2_RC rc = marshal(&value, buffer.data(), buffer.size(), &offset);
  if (rc != TSS2_RC_SUCCESS) return Status::Internal("marshalling a TPM structure failed");
  buffer.resize(offset);
  return crypto::Base64Encode(buffer);
}

// Unmarshals a base64 field that must hold exactly one TPM2B.
template <class T, class Unmarshal>
Status Unmarshalled(const internal::SlotReader& reader, const char* field, Unmarshal unmarshal,
                    T* out) {
  MV_ASSIGN_OR_RETURN(std::string text, reader.String(field));
  auto bytes = crypto::Base64Decode(text);
  size_t offset = 0;
  if (!bytes.ok() || unmarshal(bytes->data(), bytes->size(), &offset, out) != TSS2_RC_SUCCESS ||
      offset != bytes->size()) {
    return reader.Error("field \"" + std::string(field) + "\" is not a marshalled TPM structure");
  }
  return Status::Ok();
}

Result<std::vector<int>> ReadPcrList(const internal::SlotReader& reader, const json& slot) {
  auto it = slot.find("pcrs");
  if (it == slot.end() || !it->is_array()) return reader.Error("field \"pcrs\" must be an array");
  std::vector<int> pcrs;
  for (const json& entry : *it) {
    bool in_range =
        entry.is_number_integer() && entry.get<int64_t>() >= 0 && entry.get<int64_t>() < kPcrCount;
    if (!in_range || (!pcrs.empty() && entry.get<int>() <= pcrs.back())) {
      return reader.Error("field \"pcrs\" must list PCR numbers 0..23 in ascending order");
    }
    pcrs.push_back(entry.get<int>());
  }
  return pcrs;
}

Result<std::vector<crypto::Digest>> ReadPcrValues(const internal::SlotReader& reader,
                                                  const json& slot, const std::vector<int>& pcrs) {
  auto it = slot.find("pcr_values");
  if (it == slot.end() || !it->is_object() || it->size() != pcrs.size()) {
    return reader.Error("field \"pcr_values\" must map each of \"pcrs\" to a value");
  }
  std::vector<crypto::Digest> values;
  for (int pcr : pcrs) {
    auto value = it->find(std::to_string(pcr));
    if (value == it->end() || !value->is_string()) {
      return reader.Error("field \"pcr_values\" has no value for PCR " + std::to_string(pcr));
    }
    auto bytes = crypto::HexDecode(value->get<std::string>());
    if (!bytes.ok() || bytes->size() != sizeof(crypto::Digest)) {
      return reader.Error("the value of PCR " + std::to_string(pcr) +
                          " in \"pcr_values\" must be 64 hex digits");
    }
    crypto::Digest digest;
    std::memcpy(digest.data(), bytes->data(), digest.size());
    values.push_back(digest);
  }
  return values;
}

Status ExpectConstant(const internal::SlotReader& reader, const char* field, const char* known) {
  MV_ASSIGN_OR_RETURN(std::string value, reader.String(field));
  if (value != known) {
    return Status::Unsupported(reader.name() + ": " + field + " \"" + value +
                               "\" is not supported (this build knows \"" + known + "\")");
  }
  return Status::Ok();
}

}  // namespace

Status WriteTpm2Fields(const Tpm2Slot& fields, json* slot) {
  json& s = *slot;
  s["tcti"] = fields.tcti;
  s["parent"] = kParent;
  s["parent_name"] = crypto::HexEncode(fields.parent_name);
  s["pcr_bank"] = kPcrBank;
  s["pcrs"] = fields.pcrs;
  json values = json::object();
  for (size_t i = 0; i < fields.pcrs.size(); ++i) {
    values[std::to_string(fields.pcrs[i])] = crypto::HexEncode(fields.pcr_values[i]);
  }
  s["pcr_values"] = std::move(values);
  s["pin"] = fields.pin;
  if (fields.pin) s["pin_salt"] = crypto::Base64Encode(fields.pin_salt);
  MV_ASSIGN_OR_RETURN(s["sealed_public"],
                      Marshalled(fields.sealed_public, Tss2_MU_TPM2B_PUBLIC_Marshal));
  MV_ASSIGN_OR_RETURN(s["sealed_private"],
                      Marshalled(fields.sealed_private, Tss2_MU_TPM2B_PRIVATE_Marshal));
  return Status::Ok();
}

Result<Tpm2Slot> ReadTpm2Fields(const internal::SlotReader& reader, const json& slot) {
  Tpm2Slot fields;
  MV_ASSIGN_OR_RETURN(fields.tcti, reader.String("tcti"));
  if (fields.tcti.empty()) return reader.Error("field \"tcti\" is empty");
  MV_RETURN_IF_ERROR(ExpectConstant(reader, "parent", kParent));
  MV_RETURN_IF_ERROR(ExpectConstant(reader, "pcr_bank", kPcrBank));
  MV_ASSIGN_OR_RETURN(std::string parent_name, reader.String("parent_name"));
  auto name = crypto::HexDecode(parent_name);
  if (!name.ok() || name->empty()) return reader.Error("field \"parent_name\" must be hex");
  fields.parent_name = std::move(name).value();
  MV_ASSIGN_OR_RETURN(fields.pcrs, ReadPcrList(reader, slot));
  MV_ASSIGN_OR_RETURN(fields.pcr_values, ReadPcrValues(reader, slot, fields.pcrs));
  auto pin = slot.find("pin");
  if (pin == slot.end() || !pin->is_boolean()) return reader.Error("field \"pin\" must be a bool");
  fields.pin = pin->get<bool>();
  if (fields.pin) {
    MV_ASSIGN_OR_RETURN(fields.pin_salt, reader.Bytes("pin_salt", kPinSaltSize));
  } else if (slot.contains("pin_salt")) {
    return reader.Error("field \"pin_salt\" belongs to slots with a PIN only");
  }
  MV_RETURN_IF_ERROR(
      Unmarshalled(reader, "sealed_public", Tss2_MU_TPM2B_PUBLIC_Unmarshal, &fields.sealed_public));
  MV_RETURN_IF_ERROR(Unmarshalled(reader, "sealed_private", Tss2_MU_TPM2B_PRIVATE_Unmarshal,
                                  &fields.sealed_private));
  if (fields.sealed_public.publicArea.type != TPM2_ALG_KEYEDHASH) {
    return reader.Error("field \"sealed_public\" is not a sealed data object");
  }
  return fields;
}

}  // namespace modelvault::keyprovider::tpm2
