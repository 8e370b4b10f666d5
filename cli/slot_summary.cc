#include "cli/slot_summary.h"

namespace modelvault::cli {
namespace {

using nlohmann::json;

constexpr const char* kBasicFields[] = {"id", "type", "created"};
// In the order `keyslot list` prints them.
constexpr const char* kParameterFields[] = {"kdf",       "n",           "r",
                                            "p",  // passphrase
                                            "pcr_bank",  "pcrs",        "pin",
                                            "tcti",      "parent",  // tpm2
                                            "uri",       "token_label", "token_serial",
                                            "key_label", "mechanism",   "oaep_hash"};  // pkcs11

std::string Text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    if (value.empty()) return "none";
    std::string out;
    for (const json& item : value) out += (out.empty() ? "" : ",") + Text(item);
    return out;
  }
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

json SlotSummary(const json& slot) {
  json out = json::object();
  if (!slot.is_object()) return out;
  for (const char* field : kBasicFields) {
    if (auto it = slot.find(field); it != slot.end()) out[field] = *it;
  }
  for (const char* field : kParameterFields) {
    if (auto it = slot.find(field); it != slot.end()) out[field] = *it;
  }
  return out;
}

std::string SlotParameters(const json& slot) {
  std::string out;
  if (!slot.is_object()) return out;
  for (const char* field : kParameterFields) {
    auto it = slot.find(field);
    if (it == slot.end()) continue;
    std::string item = std::string(field) + " " + Text(*it);
    if (it->is_boolean()) item = it->get<bool>() ? field : std::string("no ") + field;
    out += (out.empty() ? "" : ", ") + item;
  }
  return out;
}

}  // namespace modelvault::cli
