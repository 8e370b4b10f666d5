// `modelvault umount`: unmounts a modelvault mount and waits until its daemon has written
// everything out and exited.
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "base/mount_table.h"
#include "cli/commands.h"
#include "cli/status_query.h"
#include "volume/store_lock.h"

namespace modelvault::cli {
namespace {

constexpr int kDaemonExitTimeoutMs = 60000;

Status Fusermount(const std::string& mountpoint) {
  pid_t pid = fork();
  if (pid < 0) return Status::FromErrno(errno, "fork");
  if (pid == 0) {
    execlp("fusermount3", "fusermount3", "-u", "--", mountpoint.c_str(), nullptr);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::IOError("fusermount3 -u " + mountpoint + " failed");
  }
  return Status::Ok();
}

// Waits until the daemon `pid` has exited (its final metrics and audit records written).
// It is not our child: /proc tells when it is gone (or a zombie its parent has not reaped).
Status WaitForExit(pid_t pid, const std::string& mountpoint) {
  auto gone = [pid] {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    size_t paren = line.rfind(')');
    return paren == std::string::npos || line.compare(paren + 2, 1, "Z") == 0;
  };
  for (int waited = 0; waited < kDaemonExitTimeoutMs; waited += 10) {
    if (gone()) return Status::Ok();
    usleep(10000);
  }
  return Status::Busy("the daemon of " + mountpoint + " (pid " + std::to_string(pid) +
                      ") has not exited after the unmount");
}

Status RunUmount(const std::string& given) {
  char buf[PATH_MAX];
  if (realpath(given.c_str(), buf) == nullptr) return Status::FromErrno(errno, given);
  std::string mountpoint = buf;
  auto entry = FindMount(mountpoint);
  if (!entry || entry->fstype != "fuse.modelvault") {
    return Status::InvalidArgument(mountpoint + " is not a modelvault mount");
  }
  // A read-only daemon holds no store lock to wait on: ask it who it is before it goes.
  pid_t reader = 0;
  if (entry->read_only()) {
    auto status = QueryMountStatus(mountpoint, std::chrono::seconds(5));
    if (status.ok() && status->contains("pid") && (*status)["pid"].is_number_integer()) {
      reader = (*status)["pid"].get<pid_t>();
    }
  }
  if (umount2(mountpoint.c_str(), 0) != 0) {
    if (errno == EBUSY) return Status::Busy(mountpoint + " is busy (files are still open)");
    if (errno != EPERM) return Status::FromErrno(errno, "unmounting " + mountpoint);
    MV_RETURN_IF_ERROR(Fusermount(mountpoint));
  }
  if (!entry->read_only()) {
    MV_RETURN_IF_ERROR(volume::WaitForStoreUnlock(entry->source, kDaemonExitTimeoutMs));
  } else if (reader > 0) {
    MV_RETURN_IF_ERROR(WaitForExit(reader, mountpoint));
  }
  std::cout << "Unmounted " << mountpoint << "\n";
  return Status::Ok();
}

}  // namespace

void AddUmountCommand(CLI::App& app) {
  auto mountpoint = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("umount", "Unmount a store, with all data on disk");
  cmd->footer(
      "Fails while files under the mountpoint are open; root, or the user who mounted it,\n"
      "may unmount.\n\n"
      "Examples:\n"
      "  modelvault umount /models");
  cmd->add_option("MOUNTPOINT", *mountpoint, "The mountpoint")->required();
  SetAction(cmd, [mountpoint] { return RunUmount(*mountpoint); });
}

}  // namespace modelvault::cli
