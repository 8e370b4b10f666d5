#include "config/mount_config.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <set>
#include <span>
#include <string_view>

#include "base/file_util.h"

namespace modelvault::config {
namespace {

constexpr size_t kMaxConfigSize = 1 << 20;
constexpr int kMaxThreads = 1024;
constexpr std::array<std::string_view, 13> kTopKeys = {
    "backing", "mountpoint", "read_only", "foreground", "fuse_options", "threads", "log_level",
    "unlock",  "state_file", "access",    "audit",      "signatures",   "metrics"};
constexpr std::array<std::string_view, 2> kMetricsKeys = {"file", "interval"};
constexpr int kMaxMetricsInterval = 86400;
constexpr std::array<std::string_view, 3> kSignatureKeys = {"trust", "require", "allow_rollback"};
constexpr std::array<std::string_view, 3> kAccessKeys = {"uids", "gids", "executables"};
constexpr std::array<std::string_view, 2> kAuditKeys = {"file", "syslog"};
constexpr std::array<std::string_view, 6> kUnlockKeys = {
    "order", "keyfile", "passphrase_file", "recovery_key_file", "tpm2", "pkcs11"};
constexpr std::array<std::string_view, 2> kTpm2Keys = {"tcti", "pin_file"};
constexpr std::array<std::string_view, 3> kPkcs11Keys = {"uri", "pin_file", "module"};
constexpr std::array<std::string_view, 4> kLogLevels = {"debug", "info", "warning", "error"};

std::string Join(std::span<const std::string_view> words) {
  std::string out;
  for (std::string_view w : words) out += (out.empty() ? "" : ", ") + std::string(w);
  return out;
}

bool Contains(std::span<const std::string_view> words, const std::string& word) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

// Errors in one file, "FILE: line N: what", with the line of the node they are about.
class Reporter {
 public:
  explicit Reporter(const std::string& path) : path_(path) {}
  Status Error(const YAML::Node& at, const std::string& what) const {
    return Error(at.Mark(), what);
  }
  Status Error(const YAML::Mark& mark, const std::string& what) const {
    // yaml-cpp counts lines from 0 and has no mark at all for some nodes.
    if (mark.is_null() || mark.line < 0) return Status::InvalidArgument(path_ + ": " + what);
    return Status::InvalidArgument(path_ + ": line " + std::to_string(mark.line + 1) + ": " + what);
  }

 private:
  const std::string& path_;
};

Status ReadString(const Reporter& r, const YAML::Node& key, const YAML::Node& value,
                  std::string* out) {
  if (!value.IsScalar()) return r.Error(key, "\"" + key.Scalar() + "\" must be a string");
  *out = value.Scalar();
  return Status::Ok();
}

Status ReadBool(const Reporter& r, const YAML::Node& key, const YAML::Node& value, bool* out) {
  if (!value.IsScalar() || !YAML::convert<bool>::decode(value, *out)) {
    return r.Error(key, "\"" + key.Scalar() + "\" must be true or false");
  }
  return Status::Ok();
}

Status ReadThreads(const Reporter& r, const YAML::Node& key, const YAML::Node& value, int* out) {
  if (!value.IsScalar() || !YAML::convert<int>::decode(value, *out) || *out < 0 ||
      *out > kMaxThreads) {
    return r.Error(key, "\"threads\" must be an integer from 0 to " + std::to_string(kMaxThreads) +
                            " (0 = default)");
  }
  return Status::Ok();
}

Status ReadLogLevel(const Reporter& r, const YAML::Node& key, const YAML::Node& value,
                    std::string* out) {
  if (!value.IsScalar() || !Contains(kLogLevels, value.Scalar())) {
    return r.Error(key, "\"log_level\" must be one of " + Join(kLogLevels));
  }
  *out = value.Scalar();
  return Status::Ok();
}

Status ReadStringList(const Reporter& r, const YAML::Node& key, const YAML::Node& value,
                      std::vector<std::string>* out) {
  std::string must = "\"" + key.Scalar() + "\" must be a list of strings";
  if (!value.IsSequence()) return r.Error(key, must);
  out->clear();
  for (const YAML::Node& item : value) {
    if (!item.IsScalar()) return r.Error(item, must);
    out->push_back(item.Scalar());
  }
  return Status::Ok();
}

// Calls `read(key, value)` for each entry of the mapping `map`, refusing duplicate keys and
// keys not in `known`; `where` says which mapping for messages (" in \"unlock\"").
template <class ReadFn>
Status ForEachEntry(const Reporter& r, const YAML::Node& map,
                    std::span<const std::string_view> known, const std::string& where,
                    ReadFn read) {
  std::set<std::string> seen;
  for (const auto& entry : map) {
    const YAML::Node& key = entry.first;
    if (!key.IsScalar() || !Contains(known, key.Scalar())) {
      return r.Error(key, "unknown key \"" + (key.IsScalar() ? key.Scalar() : std::string()) +
                              "\"" + where + " (known: " + Join(known) + ")");
    }
    if (!seen.insert(key.Scalar()).second) {
      return r.Error(key, "duplicate key \"" + key.Scalar() + "\"" + where);
    }
    MV_RETURN_IF_ERROR(read(key, entry.second));
  }
  return Status::Ok();
}

// "tpm2: true" or "tpm2: {tcti: ..., pin_file: ...}".
Status ReadTpm2(const Reporter& r, const YAML::Node& key, const YAML::Node& value,
                UnlockSettings* u) {
  if (value.IsScalar()) return ReadBool(r, key, value, &u->tpm2);
  if (!value.IsMap()) {
    return r.Error(key, "\"tpm2\" must be true, false or a mapping with keys " + Join(kTpm2Keys));
  }
  u->tpm2 = true;
  return ForEachEntry(
      r, value, kTpm2Keys, " in \"tpm2\"", [&](const YAML::Node& k, const YAML::Node& v) {
        return ReadString(r, k, v, k.Scalar() == "tcti" ? &u->tpm2_tcti : &u->tpm2_pin_file);
      });
}

Status ReadPkcs11(const Reporter& r, const YAML::Node& key, const YAML::Node& value,
                  UnlockSettings* u) {
  if (!value.IsMap()) {
    return r.Error(key, "\"pkcs11\" must be a mapping with keys " + Join(kPkcs11Keys));
  }
  MV_RETURN_IF_ERROR(ForEachEntry(r, value, kPkcs11Keys, " in \"pkcs11\"",
                                  [&](const YAML::Node& k, const YAML::Node& v) {
                                    const std::string& n = k.Scalar();
                                    return ReadString(r, k, v,
                                                      n == "uri"        ? &u->pkcs11_uri
                                                      : n == "pin_file" ? &u->pkcs11_pin_file
                                                                        : &u->pkcs11_module);
                                  }));
  if (u->pkcs11_uri.empty()) return r.Error(key, "\"pkcs11\" needs \"uri\"");
  return Status::Ok();
}

Status ReadOrder(const Reporter& r, const YAML::Node& key, const YAML::Node& value,
                 UnlockSettings* u) {
  MV_RETURN_IF_ERROR(ReadStringList(r, key, value, &u->order));
  std::set<std::string> seen;
  for (size_t i = 0; i < u->order.size(); ++i) {
    const std::string& method = u->order[i];
    if (!Contains(kUnlockMethods, method)) {
      return r.Error(value[i], "unknown unlock method \"" + method +
                                   "\" in \"order\" (known: " + Join(kUnlockMethods) + ")");
    }
    if (!seen.insert(method).second) {
      return r.Error(value[i], "\"" + method + "\" appears twice in \"order\"");
    }
  }
  return Status::Ok();
}

// A method in "order" must have what it needs; "tpm2" alone needs nothing.
Status CheckOrder(const Reporter& r, const YAML::Node& unlock, const UnlockSettings& u) {
  for (const std::string& method : u.order) {
    bool missing = (method == "keyfile" && u.keyfile.empty()) ||
                   (method == "passphrase" && u.passphrase_file.empty()) ||
                   (method == "recovery" && u.recovery_key_file.empty()) ||
                   (method == "pkcs11" && u.pkcs11_uri.empty());
    if (missing) {
      return r.Error(unlock["order"],
                     "\"order\" lists " + method + " but \"unlock\" does not say how to use it");
    }
  }
  return Status::Ok();
}

Status ReadUnlock(const Reporter& r, const YAML::Node& key, const YAML::Node& value,
                  UnlockSettings* u) {
  if (!value.IsMap()) {
    return r.Error(key, "\"unlock\" must be a mapping with keys " + Join(kUnlockKeys));
  }
  MV_RETURN_IF_ERROR(ForEachEntry(
      r, value, kUnlockKeys, " in \"unlock\"", [&](const YAML::Node& k, const YAML::Node& v) {
        const std::string& n = k.Scalar();
        if (n == "order") return ReadOrder(r, k, v, u);
        if (n == "tpm2") return ReadTpm2(r, k, v, u);
        if (n == "pkcs11") return ReadPkcs11(r, k, v, u);
        return ReadString(r, k, v,
                          n == "keyfile"           ? &u->keyfile
                          : n == "passphrase_file" ? &u->passphrase_file
                                                   : &u->recovery_key_file);
      }));
  if (std::find(u->order.begin(), u->order.end(), "tpm2") != u->order.end()) u->tpm2 = true;
  return CheckOrder(r, value, *u);
}

Status ReadAccess(const Reporter& r, const YAML::Node& key, const YAML::Node& value,
                  MountConfig* c) {
  if (!value.IsMap()) {
    return r.Error(key, "\"access\" must be a mapping with keys " + Join(kAccessKeys));
  }
  MV_RETURN_IF_ERROR(ForEachEntry(r, value, kAccessKeys, " in \"access\"",
                                  [&](const YAML::Node& k, const YAML::Node& v) {
                                    const std::string& n = k.Scalar();
                                    return ReadStringList(r, k, v,
                                                          n == "uids"   ? &c->allow_uids
                                                          : n == "gids" ? &c->allow_gids
                                                                        : &c->allow_executables);
                                  }));
  for (size_t i = 0; i < c->allow_executables.size(); ++i) {
    if (!c->allow_executables[i].starts_with("/")) {
      return r.Error(value["executables"][i], "\"executables\" must hold absolute paths");
    }
  }
  if (!c->allow_executables.empty() && c->allow_uids.empty() && c->allow_gids.empty()) {
    return r.Error(key, "\"access\" lists executables but no uids or gids to run them");
  }
  return Status::Ok();
}

Status ReadAudit(const Reporter& r, const YAML::Node& key, const YAML::Node& value,
                 MountConfig* c) {
  if (!value.IsMap()) {
    return r.Error(key, "\"audit\" must be a mapping with keys " + Join(kAuditKeys));
  }
  MV_RETURN_IF_ERROR(ForEachEntry(r, value, kAuditKeys, " in \"audit\"",
                                  [&](const YAML::Node& k, const YAML::Node& v) {
                                    if (k.Scalar() == "syslog") {
                                      return ReadBool(r, k, v, &c->audit_syslog);
                                    }
                                    return ReadString(r, k, v, &c->audit_file);
                                  }));
  if (c->audit_file.empty()) return r.Error(key, "\"audit\" needs \"file\"");
  return Status::Ok();
}

Status ReadMetrics(const Reporter& r, const YAML::Node& key, const YAML::Node& value,
                   MountConfig* c) {
  if (!value.IsMap()) {
    return r.Error(key, "\"metrics\" must be a mapping with keys " + Join(kMetricsKeys));
  }
  MV_RETURN_IF_ERROR(
      ForEachEntry(r, value, kMetricsKeys, " in \"metrics\"",
                   [&](const YAML::Node& k, const YAML::Node& v) -> Status {
                     if (k.Scalar() == "file") {
                       return ReadString(r, k, v, &c->metrics_file);
                     }
                     try {
                       c->metrics_interval = v.as<int>();
                     } catch (const YAML::Exception&) {
                       return r.Error(k, "\"interval\" must be a whole number");
                     }
                     if (c->metrics_interval < 1 || c->metrics_interval > kMaxMetricsInterval) {
                       return r.Error(k, "\"interval\" must be from 1 to " +
                                             std::to_string(kMaxMetricsInterval) + " seconds");
                     }
                     return Status::Ok();
                   }));
  if (c->metrics_file.empty()) return r.Error(key, "\"metrics\" needs \"file\"");
  return Status::Ok();
}

Status ReadSignatures(const Reporter& r, const YAML::Node& key, const YAML::Node& value,
                      MountConfig* c) {
  if (!value.IsMap()) {
    return r.Error(key, "\"signatures\" must be a mapping with keys " + Join(kSignatureKeys));
  }
  MV_RETURN_IF_ERROR(ForEachEntry(
      r, value, kSignatureKeys, " in \"signatures\"",
      [&](const YAML::Node& k, const YAML::Node& v) {
        const std::string& n = k.Scalar();
        if (n == "trust") return ReadStringList(r, k, v, &c->trust);
        return ReadBool(r, k, v, n == "require" ? &c->require_signatures : &c->allow_rollback);
      }));
  if (c->require_signatures && c->trust.empty()) {
    return r.Error(key, "\"signatures\" requires signatures but trusts no key (\"trust\")");
  }
  return Status::Ok();
}

Status ReadTopKey(const Reporter& r, const YAML::Node& key, const YAML::Node& value,
                  MountConfig* c) {
  const std::string& name = key.Scalar();
  if (name == "backing") return ReadString(r, key, value, &c->backing);
  if (name == "mountpoint") return ReadString(r, key, value, &c->mountpoint);
  if (name == "read_only") return ReadBool(r, key, value, &c->read_only);
  if (name == "foreground") return ReadBool(r, key, value, &c->foreground);
  if (name == "fuse_options") return ReadStringList(r, key, value, &c->fuse_options);
  if (name == "threads") return ReadThreads(r, key, value, &c->threads);
  if (name == "log_level") return ReadLogLevel(r, key, value, &c->log_level);
  if (name == "state_file") return ReadString(r, key, value, &c->state_file);
  if (name == "access") return ReadAccess(r, key, value, c);
  if (name == "audit") return ReadAudit(r, key, value, c);
  if (name == "signatures") return ReadSignatures(r, key, value, c);
  if (name == "metrics") return ReadMetrics(r, key, value, c);
  return ReadUnlock(r, key, value, &c->unlock);  // ForEachEntry admits only kTopKeys
}

}  // namespace

Result<MountConfig> LoadMountConfig(const std::string& path) {
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path, kMaxConfigSize));
  Reporter reporter(path);
  MountConfig config;
  // yaml-cpp reports malformed input by throwing; nothing thrown may leave config/.
  try {
    YAML::Node root = YAML::Load(std::string(bytes.begin(), bytes.end()));
    if (root.IsNull()) return config;  // an empty file: every setting at its default
    if (!root.IsMap()) return reporter.Error(root, "the top level must be a mapping of settings");
    MV_RETURN_IF_ERROR(ForEachEntry(reporter, root, kTopKeys, "",
                                    [&](const YAML::Node& key, const YAML::Node& value) {
                                      return ReadTopKey(reporter, key, value, &config);
                                    }));
  } catch (const YAML::Exception& e) {
    return reporter.Error(e.mark, e.msg);
  }
  return config;
}

}  // namespace modelvault::config
