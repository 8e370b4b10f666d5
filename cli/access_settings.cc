#include "cli/access_settings.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <optional>
#include <type_traits>

namespace modelvault::cli {
namespace {

// A number written in decimal, or nothing.
std::optional<unsigned long> Number(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return {};
  errno = 0;
  unsigned long n = std::strtoul(text.c_str(), nullptr, 10);
  if (errno != 0 || n > UINT32_MAX - 1) return {};  // (uid_t)-1 means "no change" to the kernel
  return n;
}

Result<uid_t> ResolveUser(const std::string& name) {
  if (auto n = Number(name)) return static_cast<uid_t>(*n);
  std::vector<char> buf(16384);
  passwd pw;
  passwd* found = nullptr;
  int rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0) return Status::FromErrno(rc, "looking up user " + name);
  if (found == nullptr) return Status::InvalidArgument("--allow-uid: no user named " + name);
  return found->pw_uid;
}

Result<gid_t> ResolveGroup(const std::string& name) {
  if (auto n = Number(name)) return static_cast<gid_t>(*n);
  std::vector<char> buf(65536);
  group gr;
  group* found = nullptr;
  int rc = getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found);
  if (rc != 0) return Status::FromErrno(rc, "looking up group " + name);
  if (found == nullptr) return Status::InvalidArgument("--allow-gid: no group named " + name);
  return found->gr_gid;
}

// The canonical path the kernel shows in /proc/PID/exe for a process running `path`.
Result<std::string> ResolveProgram(const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return Status::InvalidArgument("--allow-exe " + path + ": give an absolute path");
  }
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) {
    return Status::FromErrno(errno, "--allow-exe " + path);
  }
  struct stat st;
  if (stat(buf, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
    return Status::InvalidArgument("--allow-exe " + path + " is not an executable file");
  }
  return std::string(buf);
}

template <class T>
void AddUnique(std::vector<T>* list, T value) {
  if (std::find(list->begin(), list->end(), value) == list->end()) list->push_back(value);
}

}  // namespace

void AddAccessOptions(CLI::App* cmd, AccessSettings* s) {
  const std::string group = "Who may enter (default: only the user who mounts)";
  cmd->add_option("--allow-uid", s->uids, "Admit this user (name or number; repeatable)")
      ->type_name("USER")
      ->group(group);
  cmd->add_option("--allow-gid", s->gids, "Admit members of this group (repeatable)")
      ->type_name("GROUP")
      ->group(group);
  cmd->add_option("--allow-exe", s->executables,
                  "Admit only processes running this program (absolute path; repeatable)")
      ->type_name("PATH")
      ->group(group);
}

Result<fs::AccessPolicy> ResolveAccess(const AccessSettings& s, uid_t mounter) {
  fs::AccessPolicy policy;
  for (const auto& name : s.uids) {
    MV_ASSIGN_OR_RETURN(uid_t uid, ResolveUser(name));
    AddUnique(&policy.uids, uid);
  }
  for (const auto& name : s.gids) {
    MV_ASSIGN_OR_RETURN(gid_t gid, ResolveGroup(name));
    AddUnique(&policy.gids, gid);
  }
  for (const auto& path : s.executables) {
    MV_ASSIGN_OR_RETURN(std::string exe, ResolveProgram(path));
    AddUnique(&policy.executables, exe);
  }
  if (policy.uids.empty() && policy.gids.empty()) policy.uids.push_back(mounter);
  return policy;
}

std::string DescribePolicy(const fs::AccessPolicy& policy) {
  auto join = [](const auto& list) {
    std::string out;
    for (const auto& item : list) {
      if constexpr (std::is_same_v<std::decay_t<decltype(item)>, std::string>) {
        out += (out.empty() ? "" : ", ") + item;
      } else {
        out += (out.empty() ? "" : ", ") + std::to_string(item);
      }
    }
    return out;
  };
  std::string out = "uids " + (policy.uids.empty() ? std::string("none") : join(policy.uids));
  if (!policy.gids.empty()) out += "; gids " + join(policy.gids);
  if (!policy.executables.empty()) out += "; programs " + join(policy.executables);
  return out;
}

}  // namespace modelvault::cli
