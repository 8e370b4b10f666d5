#include "fs/mount_status.h"

#include <unistd.h>

#include "base/time_util.h"
#include "crypto/signing_key.h"
#include "fs/filesystem.h"

namespace modelvault::fs {
namespace {

nlohmann::json Counters(const CounterValues& v) {
  nlohmann::json failures = nlohmann::json::object();
  for (size_t i = 0; i < kSignatureChecks.size(); ++i) {
    failures[std::string(kSignatureChecks[i])] = v.signature_failures[i];
  }
  return {{"read_requests", v.read_requests},   {"read_bytes", v.read_bytes},
          {"write_requests", v.write_requests}, {"written_bytes", v.written_bytes},
          {"auth_failures", v.auth_failures},   {"denied_requests", v.denied},
          {"signature_failures", failures}};
}

nlohmann::json Signatures(const SignaturePolicy& policy) {
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& key : policy.trusted) ids.push_back(crypto::SigningKeyId(key.public_key));
  return {{"trusted_keys", ids},
          {"required", policy.require},
          {"allow_rollback", policy.allow_rollback}};
}

nlohmann::json SignedDirs(const std::vector<LoadedSignedDir>& dirs) {
  nlohmann::json out = nlohmann::json::array();
  size_t bytes = 0;
  for (const LoadedSignedDir& d : dirs) {
    // Backing paths of deep trees can be long: the list keeps to its share of the value.
    bytes += d.path.size() + d.key_id.size() + 120;
    if (out.size() == kMaxListedSignedDirs || bytes > kMaxListedSignedDirBytes) break;
    out.push_back({{"path", d.path},
                   {"version", d.version},
                   {"key_id", d.key_id},
                   {"valid", d.failure.empty()},
                   {"failed_check", d.failure}});
  }
  return out;
}

}  // namespace

nlohmann::json MountStatus(Filesystem& fs) {
  const MountOptions& o = fs.options();
  std::vector<LoadedSignedDir> dirs = fs.signed_tree().Loaded();
  return {
      {"mountpoint", o.mountpoint},
      {"backing", fs.volume().backing_dir()},
      {"read_only", o.read_only},
      {"pid", static_cast<int64_t>(getpid())},
      {"start_time", static_cast<int64_t>(fs.start_time())},
      {"started_at", Rfc3339Utc(fs.start_time())},
      {"version", o.version},
      {"format_version", fs.volume().header().version},
      {"unlock", {{"keyslot", o.unlock_slot}, {"type", o.unlock_type}}},
      {"mounted_by_uid", o.mounter},
      {"access",
       {{"uids", o.access.uids}, {"gids", o.access.gids}, {"executables", o.access.executables}}},
      {"signatures", Signatures(o.signatures)},
      {"signed_directory_count", dirs.size()},
      {"signed_directories", SignedDirs(dirs)},
      {"counters", Counters(fs.counters().Snapshot())},
      {"metrics", {{"file", o.metrics_file}, {"interval", o.metrics_interval}}},
  };
}

}  // namespace modelvault::fs
