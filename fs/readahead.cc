#include "fs/readahead.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mount_table.h"
#include "base/unique_fd.h"

namespace modelvault::fs {

void SetReadahead(const std::string& mountpoint, int kb) {
  if (kb <= 0) return;
  // From the mount table: a path lookup on the mount itself would hold it busy against an
  // unmount.
  auto mount = FindMount(mountpoint);
  if (!mount) return;
  std::string path = "/sys/class/bdi/" + mount->device + "/read_ahead_kb";
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  std::string value = std::to_string(kb);
  if (!fd.valid() || write(fd.get(), value.data(), value.size()) < 0) {
    LogDebug("cannot set readahead through " + path);
  }
}

}  // namespace modelvault::fs
