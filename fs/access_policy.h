// AccessPolicy: which processes may see plaintext through a mount. Plain data, filled in by
// the command line or the "access" section of a config; AccessGate (access_gate.h) applies
// it to every request.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace modelvault::fs {

struct AccessPolicy {
  // A caller is let in if its uid is listed or its gid or one of its supplementary groups
  // is; root is not special. Both empty: nobody (the command line fills in the user who
  // mounted).
  std::vector<uid_t> uids;
  std::vector<gid_t> gids;
  // If not empty, the caller must also be running one of these programs (canonical paths,
  // compared with /proc/PID/exe).
  std::vector<std::string> executables;

  // Whether users other than the one who mounted can be let in. Only then does the mount
  // need allow_other, and only then must the kernel be kept from answering one user from
  // what it cached for another (access_gate.h).
  bool AdmitsOthers(uid_t mounter) const {
    for (uid_t uid : uids) {
      if (uid != mounter) return true;
    }
    return !gids.empty();
  }
};

// What a refused request was, for the audit trail.
struct DeniedRequest {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  std::string executable;  // "" if it could not be read
  std::string_view operation;
};

}  // namespace modelvault::fs
