#include "config/store_policy.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <string_view>

#include "config/problems.h"
#include "config/unlock_settings.h"
#include "config/yaml_fields.h"

namespace modelvault::config {
namespace {

constexpr size_t kMaxPolicySize = 1 << 20;
constexpr int kMaxPcr = 23;
constexpr int kMaxKeyslots = 64;
constexpr std::array<std::string_view, 13> kRules = {
    "forbid_slot_types",  "tpm2_pcrs_include",   "require_tpm2_slot", "require_recovery_slot",
    "max_keyslots",       "require_signatures",  "forbid_rollback",   "require_audit_log",
    "require_read_only",  "require_access_list", "allowed_uids",      "forbid_unlock_methods",
    "require_executables"};
// The keyslot types a store may hold (keyprovider/).
constexpr std::array<std::string_view, 5> kSlotTypes = {"keyfile", "passphrase", "recovery", "tpm2",
                                                        "pkcs11"};

using Node = YAML::Node;

// A list of words each from `known`.
void ReadWords(Problems& p, const Node& key, const Node& value,
               std::span<const std::string_view> known, const std::string& kind,
               std::vector<std::string>* out) {
  std::vector<std::string> words;
  ReadStringList(p, key, value, &words);
  for (const std::string& word : words) {
    if (Contains(known, word)) {
      out->push_back(word);
    } else {
      p.Add(LineOf(value), "unknown " + kind + " \"" + word + "\" in \"" + key.Scalar() +
                               "\" (known: " + Join(known) + ")");
    }
  }
}

void ReadPcrs(Problems& p, const Node& key, const Node& value, std::vector<int>* out) {
  if (!value.IsSequence()) {
    p.Add(LineOf(key), "\"" + key.Scalar() + "\" must be a list of PCR numbers");
    return;
  }
  for (const Node& item : value) {
    int pcr = -1;
    if (!item.IsScalar() || IsQuoted(item) || !YAML::convert<int>::decode(item, pcr) || pcr < 0 ||
        pcr > kMaxPcr) {
      p.Add(LineOf(item),
            "\"" + key.Scalar() + "\" must hold PCR numbers from 0 to " + std::to_string(kMaxPcr));
    } else if (std::find(out->begin(), out->end(), pcr) != out->end()) {
      p.Add(LineOf(item),
            "PCR " + std::to_string(pcr) + " appears twice in \"" + key.Scalar() + "\"");
    } else {
      out->push_back(pcr);
    }
  }
}

void ReadRuleValue(Problems& p, const Node& key, const Node& value, StorePolicy* policy) {
  const std::string& rule = key.Scalar();
  if (rule == "forbid_slot_types") {
    ReadWords(p, key, value, kSlotTypes, "slot type", &policy->forbid_slot_types);
  } else if (rule == "tpm2_pcrs_include") {
    ReadPcrs(p, key, value, &policy->tpm2_pcrs_include);
  } else if (rule == "max_keyslots") {
    long n = 0;
    if (ReadInt(p, key, value, 1, kMaxKeyslots,
                "a whole number from 1 to " + std::to_string(kMaxKeyslots), &n)) {
      policy->max_keyslots = static_cast<int>(n);
    }
  } else if (rule == "allowed_uids") {
    policy->allowed_uids.emplace();
    ReadStringList(p, key, value, &*policy->allowed_uids);
  } else if (rule == "forbid_unlock_methods") {
    policy->forbid_unlock_methods.emplace();
    ReadWords(p, key, value, kUnlockMethods, "unlock method", &*policy->forbid_unlock_methods);
  } else {
    bool* flag = rule == "require_tpm2_slot"       ? &policy->require_tpm2_slot
                 : rule == "require_recovery_slot" ? &policy->require_recovery_slot
                 : rule == "require_signatures"    ? &policy->require_signatures
                 : rule == "forbid_rollback"       ? &policy->forbid_rollback
                 : rule == "require_audit_log"     ? &policy->require_audit_log
                 : rule == "require_read_only"     ? &policy->require_read_only
                 : rule == "require_access_list"   ? &policy->require_access_list
                                                   : &policy->require_executables;
    ReadBool(p, key, value, flag);
  }
}

// True if `rule`, as read into `policy`, checks anything: not false, not an empty list.
// An empty "allowed_uids" does: it allows no uid at all.
bool Active(const std::string& rule, const StorePolicy& policy) {
  if (rule == "forbid_slot_types") return !policy.forbid_slot_types.empty();
  if (rule == "tpm2_pcrs_include") return !policy.tpm2_pcrs_include.empty();
  if (rule == "max_keyslots") return policy.max_keyslots.has_value();
  if (rule == "allowed_uids") return policy.allowed_uids.has_value();
  if (rule == "forbid_unlock_methods") {
    return policy.forbid_unlock_methods && !policy.forbid_unlock_methods->empty();
  }
  return rule == "require_tpm2_slot"       ? policy.require_tpm2_slot
         : rule == "require_recovery_slot" ? policy.require_recovery_slot
         : rule == "require_signatures"    ? policy.require_signatures
         : rule == "forbid_rollback"       ? policy.forbid_rollback
         : rule == "require_audit_log"     ? policy.require_audit_log
         : rule == "require_read_only"     ? policy.require_read_only
         : rule == "require_access_list"   ? policy.require_access_list
                                           : policy.require_executables;
}

void ReadRule(Problems& p, const Node& key, const Node& value, StorePolicy* policy) {
  ReadRuleValue(p, key, value, policy);
  if (Active(key.Scalar(), *policy)) policy->rules.push_back(key.Scalar());
}

}  // namespace

CheckedPolicy CheckStorePolicy(const std::string& path) {
  Problems problems(path);
  CheckedPolicy checked;
  Node root;
  if (ParseYamlFile(problems, kMaxPolicySize, &root)) {
    if (!root.IsMap()) {
      problems.Add(LineOf(root), "a policy must be a mapping of rule names to values");
    } else {
      ForEachEntry(
          problems, root, kRules, "",
          [&](const Node& key, const Node& value) {
            ReadRule(problems, key, value, &checked.policy);
          },
          "rule");
    }
  }
  checked.problems = problems.Lines();
  return checked;
}

Result<StorePolicy> LoadStorePolicy(const std::string& path) {
  CheckedPolicy checked = CheckStorePolicy(path);
  if (checked.problems.empty()) return checked.policy;
  std::string message;
  for (const std::string& line : checked.problems) {
    message += (message.empty() ? "" : "\n") + line;
  }
  return Status::InvalidArgument(message);
}

}  // namespace modelvault::config
