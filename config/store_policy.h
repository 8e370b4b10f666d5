// StorePolicy: rules a store and its mount config must meet on a host, read from a YAML
// mapping of rule names to values (docs/POLICY.md), such as
//
//   forbid_slot_types: [passphrase, keyfile]
//   tpm2_pcrs_include: [7]
//   require_recovery_slot: true
//   require_signatures: true
//   allowed_uids: [inference, 1001]
//
// A rule that is absent, false or an empty list is not checked. The store's side is its
// header, which is read without a key and so is not authenticated: the policy says what a
// store claims, and a mount of it still verifies the header.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/mount_config.h"
#include "volume/volume_header.h"

namespace modelvault::config {

struct StorePolicy {
  std::vector<std::string> forbid_slot_types;  // keyslot types the store may not have
  std::vector<int> tpm2_pcrs_include;          // PCRs every tpm2 slot must be bound to
  bool require_tpm2_slot = false;
  bool require_recovery_slot = false;
  std::optional<int> max_keyslots;
  bool require_signatures = false;  // signatures.require, with at least one trusted key
  bool forbid_rollback = false;     // signatures.allow_rollback is false
  bool require_audit_log = false;
  bool require_read_only = false;
  bool require_access_list = false;                      // access names uids or gids
  bool require_executables = false;                      // access names the programs that may read
  std::optional<std::vector<std::string>> allowed_uids;  // names or numbers
  std::optional<std::vector<std::string>> forbid_unlock_methods;  // in the config's "unlock"
  // The rules the file sets that check anything (not false, not an empty list), in its
  // order (for the summary).
  std::vector<std::string> rules;
};

struct CheckedPolicy {
  StorePolicy policy;                 // what could be read
  std::vector<std::string> problems;  // "FILE: line N: what", by line; empty if none
};
// Every problem of the policy in `path`: the file cannot be read, syntax, more than one
// YAML document, unknown rules (with the nearest known one), values of the wrong type
// (a quoted "true" or "7" is a string), unknown slot types or unlock methods, PCR numbers
// out of range.
CheckedPolicy CheckStorePolicy(const std::string& path);

// The policy in `path`, or InvalidArgument listing every problem of CheckStorePolicy, one
// per line.
Result<StorePolicy> LoadStorePolicy(const std::string& path);

struct Violation {
  std::string rule;  // the rule's name
  std::string what;  // what was found
};

// Every way `header` (of the store at config.backing) and `config` break `policy`; empty
// if they meet it. User names are resolved through the user database.
std::vector<Violation> EvaluatePolicy(const StorePolicy& policy, const volume::VolumeHeader& header,
                                      const MountConfig& config);

}  // namespace modelvault::config
