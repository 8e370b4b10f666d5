// EvaluatePolicy (store_policy.h): each rule looks at the header's keyslots or at the
// mount config and says what it found that breaks it.
#include <pwd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <set>

#include "config/config_conflicts.h"
#include "config/store_policy.h"
#include "config/yaml_fields.h"

namespace modelvault::config {
namespace {

using nlohmann::json;

std::string SlotType(const json& slot) {
  auto it = slot.find("type");
  return it != slot.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string SlotId(const json& slot) {
  auto it = slot.find("id");
  return it != slot.end() ? it->dump() : "?";
}

std::string SlotTypes(const volume::VolumeHeader& header) {
  std::string out;
  for (const json& slot : header.keyslots) out += (out.empty() ? "" : ", ") + SlotType(slot);
  return out.empty() ? "none" : out;
}

bool HasSlot(const volume::VolumeHeader& header, const std::string& type) {
  return std::any_of(header.keyslots.begin(), header.keyslots.end(),
                     [&](const json& slot) { return SlotType(slot) == type; });
}

// The PCRs a tpm2 slot is bound to; a slot without a list is bound to none.
std::set<int> SlotPcrs(const json& slot) {
  std::set<int> out;
  auto it = slot.find("pcrs");
  if (it == slot.end() || !it->is_array()) return out;
  for (const json& pcr : *it) {
    if (pcr.is_number_integer()) out.insert(pcr.get<int>());
  }
  return out;
}

std::string PcrList(const std::set<int>& pcrs) {
  std::string out;
  for (int pcr : pcrs) out += (out.empty() ? "" : ",") + std::to_string(pcr);
  return out.empty() ? "none" : out;
}

// A user name or number as a uid, through the user database; nullopt if unknown.
std::optional<uid_t> Uid(const std::string& user) {
  char* end = nullptr;
  errno = 0;
  unsigned long n = std::strtoul(user.c_str(), &end, 10);
  if (!user.empty() && *end == '\0' && errno == 0 && user[0] != '-') return static_cast<uid_t>(n);
  passwd pw;
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return found->pw_uid;
}

void CheckSlots(const StorePolicy& policy, const volume::VolumeHeader& header,
                std::vector<Violation>* out) {
  for (const json& slot : header.keyslots) {
    std::string type = SlotType(slot);
    const auto& forbidden = policy.forbid_slot_types;
    if (std::find(forbidden.begin(), forbidden.end(), type) != forbidden.end()) {
      out->push_back({"forbid_slot_types", "slot " + SlotId(slot) + " is a " + type + " slot"});
    }
    if (type != "tpm2" || policy.tpm2_pcrs_include.empty()) continue;
    std::set<int> bound = SlotPcrs(slot);
    std::set<int> missing;
    for (int pcr : policy.tpm2_pcrs_include) {
      if (!bound.contains(pcr)) missing.insert(pcr);
    }
    if (!missing.empty()) {
      out->push_back({"tpm2_pcrs_include", "tpm2 slot " + SlotId(slot) + " is bound to PCRs " +
                                               PcrList(bound) + ", not to " + PcrList(missing)});
    }
  }
  if (policy.require_tpm2_slot && !HasSlot(header, "tpm2")) {
    out->push_back(
        {"require_tpm2_slot", "the store has no tpm2 slot (slots: " + SlotTypes(header) + ")"});
  }
  if (policy.require_recovery_slot && !HasSlot(header, "recovery")) {
    out->push_back({"require_recovery_slot",
                    "the store has no recovery slot (slots: " + SlotTypes(header) + ")"});
  }
  if (policy.max_keyslots && static_cast<int>(header.keyslots.size()) > *policy.max_keyslots) {
    out->push_back({"max_keyslots", "the store has " + std::to_string(header.keyslots.size()) +
                                        " keyslots, more than " +
                                        std::to_string(*policy.max_keyslots)});
  }
}

void CheckUids(const std::vector<std::string>& allowed, const MountConfig& config,
               std::vector<Violation>* out) {
  std::set<uid_t> numbers;
  for (const std::string& user : allowed) {
    if (auto uid = Uid(user)) {
      numbers.insert(*uid);
    } else {
      out->push_back({"allowed_uids", "the policy's user \"" + user + "\" is unknown here"});
    }
  }
  for (const std::string& user : config.allow_uids) {
    auto uid = Uid(user);
    if (!uid) {
      out->push_back({"allowed_uids", "access admits user \"" + user + "\", unknown here"});
    } else if (!numbers.contains(*uid)) {
      out->push_back({"allowed_uids", "access admits uid " + std::to_string(*uid) +
                                          (user == std::to_string(*uid) ? "" : " (" + user + ")") +
                                          ", which the policy does not allow"});
    }
  }
  // A group admits whoever is in it now or later: no list of uids bounds that.
  for (const std::string& group : config.allow_gids) {
    out->push_back({"allowed_uids", "access admits group \"" + group +
                                        "\", whose members the policy cannot bound"});
  }
}

void CheckConfig(const StorePolicy& policy, const MountConfig& config,
                 std::vector<Violation>* out) {
  if (policy.require_signatures && !config.require_signatures) {
    out->push_back({"require_signatures", "the config does not set \"signatures.require\""});
  }
  if (policy.require_signatures && config.trust.empty()) {
    out->push_back({"require_signatures", "the config trusts no publisher key"});
  }
  if (policy.forbid_rollback && config.allow_rollback) {
    out->push_back({"forbid_rollback", "the config sets \"signatures.allow_rollback: true\""});
  }
  if (policy.require_audit_log && config.audit_file.empty()) {
    out->push_back({"require_audit_log", "the config names no \"audit.file\""});
  }
  if (policy.require_read_only && !config.read_only) {
    out->push_back({"require_read_only", "the config does not set \"read_only: true\""});
  }
  if (policy.require_access_list && config.allow_uids.empty() && config.allow_gids.empty()) {
    out->push_back({"require_access_list", "the config's \"access\" names no uids or gids"});
  } else if (policy.require_access_list && !AdmitsOthersThanRoot(config)) {
    // Root is the user the service unit mounts as, admitted without a list.
    out->push_back(
        {"require_access_list", "the config's \"access\" names only root, the user who mounts"});
  }
  if (policy.require_executables && config.allow_executables.empty()) {
    out->push_back({"require_executables", "the config's \"access\" names no executables"});
  }
  if (policy.allowed_uids) CheckUids(*policy.allowed_uids, config, out);
  if (policy.forbid_unlock_methods) {
    const UnlockSettings& u = config.unlock;
    for (const std::string& method : *policy.forbid_unlock_methods) {
      if (std::find(u.order.begin(), u.order.end(), method) != u.order.end() || u.Gives(method)) {
        out->push_back({"forbid_unlock_methods", "the config unlocks with " + method});
      } else if (!u.AnyGiven() && Contains(UnlockSettings::kImplicitMethods, method)) {
        // What a mount does when nothing says how to unlock.
        out->push_back(
            {"forbid_unlock_methods",
             "the config says nothing of how to unlock, so a mount tries " + method +
                 (method == "tpm2" ? " slots that need no PIN" : " typed at a terminal")});
      }
    }
  }
}

}  // namespace

std::vector<Violation> EvaluatePolicy(const StorePolicy& policy, const volume::VolumeHeader& header,
                                      const MountConfig& config) {
  std::vector<Violation> out;
  CheckSlots(policy, header, &out);
  CheckConfig(policy, config, &out);
  return out;
}

}  // namespace modelvault::config
