#include "cli/status_query.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/file_util.h"
#include "base/unique_fd.h"

namespace modelvault::cli {
namespace {

constexpr const char* kStatusAttribute = "user.modelvault.status";
// The kernel passes at most this much of an attribute value.
constexpr size_t kMaxValue = 64 * 1024;

// The child: reads the attribute and writes "0" + the value or "E" + errno to `fd`.
[[noreturn]] void ReadInChild(const std::string& mountpoint, int fd) {
  std::vector<char> value(kMaxValue);
  ssize_t n = getxattr(mountpoint.c_str(), kStatusAttribute, value.data(), value.size());
  std::string out = n >= 0 ? "0" + std::string(value.data(), static_cast<size_t>(n))
                           : "E" + std::to_string(errno);
  (void)WriteFull(fd, std::span(reinterpret_cast<const uint8_t*>(out.data()), out.size()));
  _exit(0);
}

Status Explain(int err, const std::string& mountpoint) {
  switch (err) {
    case ENOTCONN:
      return Status::IOError(mountpoint + ": the mount daemon is not running (" +
                             std::strerror(err) + ")");
    case EACCES:
    case EPERM:
      return Status::IOError(mountpoint +
                             ": not allowed to read its status (only the user who mounted "
                             "it and admitted users may)");
    case ENODATA:
    case EOPNOTSUPP:
      return Status::IOError(mountpoint + ": the mount daemon does not report its status");
    default:
      return Status::FromErrno(err, "reading the status of " + mountpoint);
  }
}

// Reads everything from `fd` until EOF or `deadline`; false on timeout.
bool ReadUntil(int fd, std::chrono::steady_clock::time_point deadline, std::string* out) {
  char buf[8192];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    out->append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

Result<nlohmann::json> QueryMountStatus(const std::string& mountpoint,
                                        std::chrono::seconds timeout) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  pid_t pid = fork();
  if (pid < 0) return Status::FromErrno(errno, "fork");
  if (pid == 0) ReadInChild(mountpoint, write_end.get());
  write_end.Reset();
  std::string answer;
  bool done = ReadUntil(read_end.get(), std::chrono::steady_clock::now() + timeout, &answer);
  // A child waiting on a hung daemon is stuck in the kernel; SIGKILL still ends it.
  if (!done) kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (!done) {
    return Status::IOError(mountpoint + ": the mount daemon did not answer within " +
                           std::to_string(timeout.count()) + " s");
  }
  if (answer.empty()) return Status::IOError(mountpoint + ": could not ask the mount daemon");
  if (answer[0] == 'E') return Explain(std::atoi(answer.c_str() + 1), mountpoint);
  auto status = nlohmann::json::parse(answer.substr(1), nullptr, false);
  if (status.is_discarded() || !status.is_object()) {
    return Status::Corruption(mountpoint + ": the mount daemon's status is not a JSON object");
  }
  return status;
}

}  // namespace modelvault::cli
