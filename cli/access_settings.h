// Who may enter a mount, as the user says it (--allow-uid, --allow-gid, --allow-exe, or the
// config's "access" section), turned into an fs::AccessPolicy of numbers and canonical
// paths at mount time.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "base/result.h"
#include "fs/access_policy.h"

namespace modelvault::cli {

struct AccessSettings {
  std::vector<std::string> uids, gids, executables;  // names or numbers; absolute paths
  bool empty() const { return uids.empty() && gids.empty() && executables.empty(); }
};

void AddAccessOptions(CLI::App* cmd, AccessSettings* settings);

// Names resolved through the user and group databases; programs resolved to canonical
// paths (they must exist). With no uids and no gids, only `mounter` is admitted.
// InvalidArgument naming the user, group or program that does not resolve.
Result<fs::AccessPolicy> ResolveAccess(const AccessSettings& settings, uid_t mounter);

// "uids 1001, 1002; gids 50; programs /usr/bin/python3" for messages and the audit trail.
std::string DescribePolicy(const fs::AccessPolicy& policy);

}  // namespace modelvault::cli
