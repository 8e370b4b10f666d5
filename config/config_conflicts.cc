#include "config/config_conflicts.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "config/yaml_fields.h"

namespace modelvault::config {
namespace {

using Node = YAML::Node;

// The line of key `name` in mapping `map`, else of the map itself.
int KeyLine(const Node& map, std::string_view name) {
  auto [key, value] = FindEntry(map, name);
  return key.IsNull() ? LineOf(map) : LineOf(key);
}

Node Section(const Node& root, std::string_view name) { return FindEntry(root, name).second; }

bool Inside(const std::string& inner, const std::string& outer) {
  if (inner.empty() || outer.empty()) return false;
  std::string prefix = outer.ends_with("/") ? outer : outer + "/";
  return inner == outer || inner.starts_with(prefix);
}

void CheckUnlockOrder(const Node& root, const UnlockSettings& u, Problems& p) {
  for (const std::string& method : u.order) {
    bool missing = (method == "keyfile" && u.keyfile.empty()) ||
                   (method == "passphrase" && u.passphrase_file.empty()) ||
                   (method == "recovery" && u.recovery_key_file.empty()) ||
                   (method == "pkcs11" && u.pkcs11_uri.empty());
    if (missing) {
      p.Add(KeyLine(Section(root, "unlock"), "order"),
            "\"order\" lists " + method + " but \"unlock\" does not say how to use it");
    }
  }
}

void CheckFuseOptions(const Node& root, const MountConfig& c, Problems& p) {
  Node list = Section(root, "fuse_options");
  if (!list.IsSequence()) return;
  bool read_only_given = HasKey(root, "read_only");
  for (const Node& item : list) {
    if (!item.IsScalar()) continue;
    std::string option = item.Scalar();
    std::string name = option.substr(0, option.find('='));
    std::string what;
    if (name == "allow_other") {
      what = "is set by the daemon when \"access\" admits other users; list them there";
    } else if (name == "default_permissions" || name == "fsname" || name == "subtype") {
      what = "is set by the daemon itself";
    } else if (name == "ro") {
      what = c.read_only ? "repeats \"read_only: true\""
             : read_only_given
                 ? "contradicts \"read_only: false\""
                 : "mounts read-only while the daemon serves writes; set \"read_only: true\"";
    } else if (name == "rw") {
      what = c.read_only ? "contradicts \"read_only: true\"" : "is the default; leave it out";
    }
    if (!what.empty()) p.Add(LineOf(item), "\"" + option + "\" in \"fuse_options\" " + what);
  }
}

void CheckCache(const Node& root, const MountConfig& c, Problems& p) {
  if (!c.entry_timeout || *c.entry_timeout <= 0 || !AdmitsOthersThanRoot(c)) return;
  p.Add(KeyLine(Section(root, "cache"), "entry_timeout"),
        "\"entry_timeout\" must be 0 on a shared mount: \"access\" admits other users, and "
        "the kernel must not answer them from names cached for another");
}

}  // namespace

bool AdmitsOthersThanRoot(const MountConfig& config) {
  if (!config.allow_gids.empty()) return true;
  return std::any_of(config.allow_uids.begin(), config.allow_uids.end(),
                     [](const std::string& uid) { return uid != "0" && uid != "root"; });
}

void CheckConflicts(const Node& root, const MountConfig& c, Problems& p) {
  if (c.require_signatures && c.trust.empty()) {
    p.Add(KeyLine(root, "signatures"),
          "\"signatures\" requires signatures but trusts no key (\"trust\")");
  }
  CheckUnlockOrder(root, c.unlock, p);
  if (!c.allow_executables.empty() && c.allow_uids.empty() && c.allow_gids.empty()) {
    p.Add(KeyLine(root, "access"), "\"access\" lists executables but no uids or gids to run them");
  }
  CheckFuseOptions(root, c, p);
  CheckCache(root, c, p);
  if (!c.audit_file.empty() && c.audit_file == c.metrics_file) {
    p.Add(KeyLine(root, "metrics"), "\"metrics\" and \"audit\" name the same file");
  }
  if (Inside(c.mountpoint, c.backing) || Inside(c.backing, c.mountpoint)) {
    p.Add(KeyLine(root, "mountpoint"),
          "\"mountpoint\" and \"backing\" overlap: neither may be inside the other");
  }
}

}  // namespace modelvault::config
