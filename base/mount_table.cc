#include "base/mount_table.h"

#include <fstream>
#include <sstream>

namespace modelvault {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
      out.push_back(static_cast<char>(v));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

bool MountEntry::read_only() const {
  std::stringstream ss(options);
  std::string opt;
  while (std::getline(ss, opt, ',')) {
    if (opt == "ro") return true;
  }
  return false;
}

std::vector<MountEntry> ReadMountTable() {
  std::vector<MountEntry> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount_point options [optional...] - fstype source super_opts
    std::istringstream ls(line);
    std::string id, parent, devno, root, mp, opts, field;
    ls >> id >> parent >> devno >> root >> mp >> opts;
    while (ls >> field && field != "-") {
    }
    MountEntry e;
    ls >> e.fstype >> e.source;
    e.mount_point = Unescape(mp);
    e.device = devno;
    e.source = Unescape(e.source);
    e.options = opts;
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<MountEntry> FindMount(const std::string& path) {
  std::optional<MountEntry> found;
  for (auto& e : ReadMountTable()) {
    if (e.mount_point == path) found = e;
  }
  return found;
}

}  // namespace modelvault
