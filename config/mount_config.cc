#include "config/mount_config.h"

#include <grp.h>
#include <pwd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <set>
#include <string_view>

#include "config/config_conflicts.h"
#include "config/yaml_fields.h"

namespace modelvault::config {
namespace {

constexpr size_t kMaxConfigSize = 1 << 20;
constexpr int kMaxThreads = 1024;
constexpr int kMaxMetricsInterval = 86400;
constexpr double kMaxCacheSeconds = 86400;
constexpr int kMaxReadaheadKb = 1 << 20;
constexpr size_t kMaxLookupBuffer = 1 << 22;  // for getpwnam_r and getgrnam_r
constexpr std::array<std::string_view, 14> kTopKeys = {
    "backing", "mountpoint", "read_only", "foreground", "fuse_options", "threads", "log_level",
    "unlock",  "state_file", "access",    "audit",      "signatures",   "metrics", "cache"};
constexpr std::array<std::string_view, 2> kMetricsKeys = {"file", "interval"};
constexpr std::array<std::string_view, 4> kCacheKeys = {"entry_timeout", "attr_timeout",
                                                        "keep_page_cache", "readahead_kb"};
constexpr std::array<std::string_view, 3> kSignatureKeys = {"trust", "require", "allow_rollback"};
constexpr std::array<std::string_view, 3> kAccessKeys = {"uids", "gids", "executables"};
constexpr std::array<std::string_view, 2> kAuditKeys = {"file", "syslog"};
constexpr std::array<std::string_view, 6> kUnlockKeys = {
    "order", "keyfile", "passphrase_file", "recovery_key_file", "tpm2", "pkcs11"};
constexpr std::array<std::string_view, 2> kTpm2Keys = {"tcti", "pin_file"};
constexpr std::array<std::string_view, 3> kPkcs11Keys = {"uri", "pin_file", "module"};
constexpr std::array<std::string_view, 4> kLogLevels = {"debug", "info", "warning", "error"};

using Node = YAML::Node;

// False (after reporting) unless `value` is a mapping; `name` is the section.
bool ExpectMap(Problems& p, const Node& key, const Node& value, const std::string& must) {
  if (value.IsMap()) return true;
  p.Add(LineOf(key), "\"" + key.Scalar() + "\" must be " + must);
  return false;
}

// "tpm2: true" or "tpm2: {tcti: ..., pin_file: ...}".
void ReadTpm2(Problems& p, const Node& key, const Node& value, UnlockSettings* u) {
  if (value.IsScalar()) {
    ReadBool(p, key, value, &u->tpm2);
    return;
  }
  if (!ExpectMap(p, key, value, "true, false or a mapping with keys " + Join(kTpm2Keys))) return;
  u->tpm2 = true;
  ForEachEntry(p, value, kTpm2Keys, " in \"tpm2\"", [&](const Node& k, const Node& v) {
    if (k.Scalar() == "tcti") ReadString(p, k, v, &u->tpm2_tcti);
    if (k.Scalar() == "pin_file") ReadPath(p, k, v, &u->tpm2_pin_file);
  });
}

void ReadPkcs11(Problems& p, const Node& key, const Node& value, UnlockSettings* u) {
  if (!ExpectMap(p, key, value, "a mapping with keys " + Join(kPkcs11Keys))) return;
  ForEachEntry(p, value, kPkcs11Keys, " in \"pkcs11\"", [&](const Node& k, const Node& v) {
    const std::string& n = k.Scalar();
    if (n == "uri") ReadString(p, k, v, &u->pkcs11_uri);
    if (n == "pin_file") ReadPath(p, k, v, &u->pkcs11_pin_file);
    if (n == "module") ReadPath(p, k, v, &u->pkcs11_module);
  });
  if (!HasKey(value, "uri")) p.Add(LineOf(key), "\"pkcs11\" needs \"uri\"");
}

void ReadOrder(Problems& p, const Node& key, const Node& value, UnlockSettings* u) {
  std::vector<std::string> listed;
  ReadStringList(p, key, value, &listed);
  for (const std::string& method : listed) {
    if (Contains(kUnlockMethods, method)) {
      u->order.push_back(method);
    } else {
      p.Add(LineOf(value), "unknown unlock method \"" + method +
                               "\" in \"order\" (known: " + Join(kUnlockMethods) + ")");
    }
  }
}

void ReadUnlock(Problems& p, const Node& key, const Node& value, UnlockSettings* u) {
  if (!ExpectMap(p, key, value, "a mapping with keys " + Join(kUnlockKeys))) return;
  ForEachEntry(p, value, kUnlockKeys, " in \"unlock\"", [&](const Node& k, const Node& v) {
    const std::string& n = k.Scalar();
    if (n == "order") ReadOrder(p, k, v, u);
    if (n == "tpm2") ReadTpm2(p, k, v, u);
    if (n == "pkcs11") ReadPkcs11(p, k, v, u);
    if (n == "keyfile") ReadPath(p, k, v, &u->keyfile);
    if (n == "passphrase_file") ReadPath(p, k, v, &u->passphrase_file);
    if (n == "recovery_key_file") ReadPath(p, k, v, &u->recovery_key_file);
  });
  if (std::find(u->order.begin(), u->order.end(), "tpm2") != u->order.end()) u->tpm2 = true;
}

// A decimal uid or gid; (uid_t)-1 means "no change" to the kernel and is no id.
bool IsIdNumber(const std::string& text) {
  if (text.empty() || text.size() > 10 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  return std::stoull(text) < UINT32_MAX;
}

// Each name in list `value` (read into `names`) must be a user (or, with `groups`, a group)
// of this host's databases, as the mount resolves it; numbers are taken as they are.
void CheckNames(Problems& p, const Node& value, const std::vector<std::string>& names,
                bool groups) {
  if (!value.IsSequence()) return;
  std::set<std::string> checked;
  for (const Node& item : value) {
    if (!item.IsScalar()) continue;
    const std::string& name = item.Scalar();
    bool listed = std::find(names.begin(), names.end(), name) != names.end();
    if (!listed || IsIdNumber(name) || !checked.insert(name).second) continue;
    int rc = ERANGE;
    bool found = false;
    // A group with many members may need more room than the first buffer.
    for (size_t size = 16384; rc == ERANGE && size <= kMaxLookupBuffer; size *= 4) {
      std::vector<char> buf(size);
      if (groups) {
        group gr;
        group* result = nullptr;
        rc = getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &result);
        found = result != nullptr;
      } else {
        passwd pw;
        passwd* result = nullptr;
        rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &result);
        found = result != nullptr;
      }
    }
    const std::string kind = groups ? "group" : "user";
    if (rc != 0) {
      p.Add(LineOf(item), "cannot look up " + kind + " " + name + ": " + std::strerror(rc));
    } else if (!found) {
      p.Add(LineOf(item), "no " + kind + " named " + name);
    }
  }
}

void ReadAccess(Problems& p, const Node& key, const Node& value, MountConfig* c) {
  if (!ExpectMap(p, key, value, "a mapping with keys " + Join(kAccessKeys))) return;
  ForEachEntry(p, value, kAccessKeys, " in \"access\"", [&](const Node& k, const Node& v) {
    const std::string& n = k.Scalar();
    if (n == "uids") {
      ReadStringList(p, k, v, &c->allow_uids);
      CheckNames(p, v, c->allow_uids, /*groups=*/false);
    }
    if (n == "gids") {
      ReadStringList(p, k, v, &c->allow_gids);
      CheckNames(p, v, c->allow_gids, /*groups=*/true);
    }
    if (n == "executables") ReadStringList(p, k, v, &c->allow_executables, /*paths=*/true);
  });
}

void ReadAudit(Problems& p, const Node& key, const Node& value, MountConfig* c) {
  if (!ExpectMap(p, key, value, "a mapping with keys " + Join(kAuditKeys))) return;
  ForEachEntry(p, value, kAuditKeys, " in \"audit\"", [&](const Node& k, const Node& v) {
    if (k.Scalar() == "syslog") ReadBool(p, k, v, &c->audit_syslog);
    if (k.Scalar() == "file") ReadPath(p, k, v, &c->audit_file);
  });
  if (!HasKey(value, "file")) p.Add(LineOf(key), "\"audit\" needs \"file\"");
}

void ReadMetrics(Problems& p, const Node& key, const Node& value, MountConfig* c) {
  if (!ExpectMap(p, key, value, "a mapping with keys " + Join(kMetricsKeys))) return;
  ForEachEntry(p, value, kMetricsKeys, " in \"metrics\"", [&](const Node& k, const Node& v) {
    if (k.Scalar() == "file") ReadPath(p, k, v, &c->metrics_file);
    long n = 0;
    if (k.Scalar() == "interval" &&
        ReadInt(p, k, v, 1, kMaxMetricsInterval,
                "a whole number of seconds from 1 to " + std::to_string(kMaxMetricsInterval), &n)) {
      c->metrics_interval = static_cast<int>(n);
    }
  });
  if (!HasKey(value, "file")) p.Add(LineOf(key), "\"metrics\" needs \"file\"");
}

void ReadCache(Problems& p, const Node& key, const Node& value, MountConfig* c) {
  if (!ExpectMap(p, key, value, "a mapping with keys " + Join(kCacheKeys))) return;
  ForEachEntry(p, value, kCacheKeys, " in \"cache\"", [&](const Node& k, const Node& v) {
    const std::string& n = k.Scalar();
    double seconds = 0;
    long kb = 0;
    if (n == "keep_page_cache") ReadBool(p, k, v, &c->keep_page_cache);
    if (n == "entry_timeout" && ReadSeconds(p, k, v, kMaxCacheSeconds, &seconds)) {
      c->entry_timeout = seconds;
    }
    if (n == "attr_timeout" && ReadSeconds(p, k, v, kMaxCacheSeconds, &seconds)) {
      c->attr_timeout = seconds;
    }
    if (n == "readahead_kb" &&
        ReadInt(p, k, v, 0, kMaxReadaheadKb,
                "a whole number of KiB from 0 to " + std::to_string(kMaxReadaheadKb) +
                    " (0 = the kernel's default)",
                &kb)) {
      c->readahead_kb = static_cast<int>(kb);
    }
  });
}

void ReadSignatures(Problems& p, const Node& key, const Node& value, MountConfig* c) {
  if (!ExpectMap(p, key, value, "a mapping with keys " + Join(kSignatureKeys))) return;
  ForEachEntry(p, value, kSignatureKeys, " in \"signatures\"", [&](const Node& k, const Node& v) {
    const std::string& n = k.Scalar();
    if (n == "trust") ReadStringList(p, k, v, &c->trust, /*paths=*/true);
    if (n == "require") ReadBool(p, k, v, &c->require_signatures);
    if (n == "allow_rollback") ReadBool(p, k, v, &c->allow_rollback);
  });
}

void ReadTopKey(Problems& p, const Node& key, const Node& value, MountConfig* c) {
  const std::string& name = key.Scalar();
  long n = 0;
  if (name == "backing") ReadPath(p, key, value, &c->backing);
  if (name == "mountpoint") ReadPath(p, key, value, &c->mountpoint);
  if (name == "read_only") ReadBool(p, key, value, &c->read_only);
  if (name == "foreground") ReadBool(p, key, value, &c->foreground);
  if (name == "fuse_options") ReadStringList(p, key, value, &c->fuse_options);
  if (name == "threads" &&
      ReadInt(p, key, value, 0, kMaxThreads,
              "an integer from 0 to " + std::to_string(kMaxThreads) + " (0 = default)", &n)) {
    c->threads = static_cast<int>(n);
  }
  if (name == "log_level") {
    if (value.IsScalar() && Contains(kLogLevels, value.Scalar())) {
      c->log_level = value.Scalar();
    } else {
      p.Add(LineOf(key), "\"log_level\" must be one of " + Join(kLogLevels));
    }
  }
  if (name == "state_file") ReadPath(p, key, value, &c->state_file);
  if (name == "access") ReadAccess(p, key, value, c);
  if (name == "audit") ReadAudit(p, key, value, c);
  if (name == "signatures") ReadSignatures(p, key, value, c);
  if (name == "metrics") ReadMetrics(p, key, value, c);
  if (name == "cache") ReadCache(p, key, value, c);
  if (name == "unlock") ReadUnlock(p, key, value, &c->unlock);
}

// Reads the file of `p` into `config`, reporting every problem; `complete` also requires
// the keys that name the store and where it is shown.
void Read(bool complete, MountConfig* config, Problems& p) {
  Node root;
  if (!ParseYamlFile(p, kMaxConfigSize, &root)) return;
  if (!root.IsNull() && !root.IsMap()) {
    p.Add(LineOf(root), "the top level must be a mapping of settings");
    return;
  }
  if (root.IsMap()) {  // null: an empty file, every setting at its default
    ForEachEntry(p, root, kTopKeys, "",
                 [&](const Node& key, const Node& value) { ReadTopKey(p, key, value, config); });
    CheckConflicts(root, *config, p);
  }
  if (!complete) return;
  for (const char* required : {"backing", "mountpoint"}) {
    if (!HasKey(root, required)) {
      p.Add(0, "\"" + std::string(required) + "\" is missing: a store's config must name it");
    }
  }
}

}  // namespace

Result<MountConfig> LoadMountConfig(const std::string& path) {
  Problems problems(path);
  MountConfig config;
  Read(/*complete=*/false, &config, problems);
  if (!problems.empty()) return problems.ToStatus();
  return config;
}

CheckedConfig CheckMountConfig(const std::string& path) {
  Problems problems(path);
  CheckedConfig checked;
  Read(/*complete=*/true, &checked.config, problems);
  checked.problems = problems.Lines();
  return checked;
}

}  // namespace modelvault::config
