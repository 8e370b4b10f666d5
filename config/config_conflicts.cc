#include "config/config_conflicts.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <set>
#include <sstream>
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

// True if absolute path `inner` is `outer` or below it, once "." and ".." are resolved as
// text (the paths need not exist where the config is checked).
bool Inside(const std::string& inner, const std::string& outer) {
  if (inner.empty() || outer.empty()) return false;
  std::filesystem::path in = std::filesystem::path(inner).lexically_normal();
  std::filesystem::path out = std::filesystem::path(outer).lexically_normal();
  // "/a/b/" normalises to "/a/b/", whose last element is empty.
  if (!in.has_filename()) in = in.parent_path();
  if (!out.has_filename()) out = out.parent_path();
  return std::mismatch(out.begin(), out.end(), in.begin(), in.end()).first == out.end();
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

// Each option of `fuse_options`, whose entries may each hold several joined by commas as
// -o takes them, once: a repeated entry ReadStringList reported already, a repeated option
// inside entries is reported here.
void CheckFuseOptions(const Node& root, const MountConfig& c, Problems& p) {
  Node list = Section(root, "fuse_options");
  if (!list.IsSequence()) return;
  // Only a valid "read_only" is contradicted; a bad one has its own problem.
  Node read_only = Section(root, "read_only");
  bool unused = false;
  bool read_only_given = read_only.IsScalar() && !IsQuoted(read_only) &&
                         YAML::convert<bool>::decode(read_only, unused);
  std::set<std::string> entries, options;
  for (const Node& item : list) {
    if (!item.IsScalar() || !entries.insert(item.Scalar()).second) continue;
    std::stringstream joined(item.Scalar());
    std::string option;
    while (std::getline(joined, option, ',')) {
      if (option.empty()) continue;
      if (!options.insert(option).second) {
        p.Add(LineOf(item), "\"" + option + "\" appears twice in \"fuse_options\"");
        continue;
      }
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
      } else if (name == "rw" && c.read_only) {
        what = "contradicts \"read_only: true\"";
      }
      if (!what.empty()) p.Add(LineOf(item), "\"" + option + "\" in \"fuse_options\" " + what);
    }
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
