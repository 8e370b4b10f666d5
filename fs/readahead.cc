#include "fs/readahead.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "base/log.h"
#include "base/unique_fd.h"

namespace modelvault::fs {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// "major:minor" of the mount at `mountpoint`, read from the mount table so that nothing
// touches the mount itself (a path lookup there would hold it busy against an unmount).
std::string DeviceOf(const std::string& mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line, found;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mp;
    fields >> id >> parent >> devno >> root >> mp;
    if (Unescape(mp) == mountpoint) found = devno;
  }
  return found;
}

}  // namespace

void SetReadahead(const std::string& mountpoint, int kb) {
  if (kb <= 0) return;
  std::string dev = DeviceOf(mountpoint);
  if (dev.empty()) return;
  std::string path = "/sys/class/bdi/" + dev + "/read_ahead_kb";
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  std::string value = std::to_string(kb);
  if (!fd.valid() || write(fd.get(), value.data(), value.size()) < 0) {
    LogDebug("cannot set readahead through " + path);
  }
}

}  // namespace modelvault::fs
