#include "fs/access_gate.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>

namespace modelvault::fs {
namespace {

template <class T>
bool Contains(const std::vector<T>& list, const T& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool InAnyGroup(fuse_req_t req, gid_t primary, const std::vector<gid_t>& gids) {
  if (Contains(gids, primary)) return true;
  // fuse_req_getgroups reads /proc; done only when the uid and primary gid did not decide.
  std::array<gid_t, 256> groups;
  int n = fuse_req_getgroups(req, static_cast<int>(groups.size()), groups.data());
  for (int i = 0; i < n && i < static_cast<int>(groups.size()); ++i) {
    if (Contains(gids, groups[static_cast<size_t>(i)])) return true;
  }
  return false;
}

}  // namespace

std::string ExecutableOf(pid_t pid) {
  char buf[PATH_MAX];
  std::string link = "/proc/" + std::to_string(pid) + "/exe";
  ssize_t n = readlink(link.c_str(), buf, sizeof(buf));
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(buf)) return "";
  std::string exe(buf, static_cast<size_t>(n));
  // A program file replaced or removed since it was started is not the listed program.
  if (exe.ends_with(" (deleted)")) return "";
  return exe;
}

bool AccessGate::Admits(fuse_req_t req, const fuse_ctx& ctx, std::string* exe) const {
  bool who = Contains(policy_.uids, ctx.uid) ||
             (!policy_.gids.empty() && InAnyGroup(req, ctx.gid, policy_.gids));
  if (!who) return false;
  if (policy_.executables.empty()) return true;
  *exe = ExecutableOf(ctx.pid);
  return !exe->empty() && Contains(policy_.executables, *exe);
}

Status AccessGate::Check(fuse_req_t req, std::string_view operation) const {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  std::string exe;
  if (Admits(req, *ctx, &exe)) return Status::Ok();
  if (on_denied_) {
    if (exe.empty()) exe = ExecutableOf(ctx->pid);
    on_denied_(DeniedRequest{ctx->uid, ctx->gid, ctx->pid, exe, operation});
  }
  return Status::PermissionDenied("not admitted");
}

}  // namespace modelvault::fs
