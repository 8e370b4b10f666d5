#include "tests/fs/mount_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/fs/fs_test_util.h"

#ifndef MODELVAULT_BIN
#define MODELVAULT_BIN ""
#endif

namespace modelvault::fs::test {
namespace {

constexpr uint32_t kSpecDefaultBlockSize = 16384;

std::string ReadMemfd(int fd) {
  std::string out;
  char buf[4096];
  off_t off = 0;
  while (true) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

// Undoes the octal escapes (\040 for a space, ...) of /proc/self/mountinfo.
std::string UnescapeMountField(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

// (mount point, filesystem type) of every mount, from /proc/self/mountinfo.
std::vector<std::pair<std::string, std::string>> Mounts() {
  std::vector<std::pair<std::string, std::string>> mounts;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mp, options, field;
    fields >> id >> parent >> devno >> root >> mp >> options;
    while (fields >> field && field != "-") {
    }
    std::string type;
    fields >> type;
    mounts.emplace_back(UnescapeMountField(mp), type);
  }
  return mounts;
}

uint64_t Fnv1a(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : data) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

void SnapshotDir(const std::string& dir, const std::string& rel, bool mtimes,
                 std::vector<std::string>* out) {
  for (const std::string& name : ListDir(dir)) {
    const std::string path = dir + "/" + name;
    const std::string rel_path = rel.empty() ? name : rel + "/" + name;
    const std::optional<struct stat> st = Lstat(path);
    if (!st) {
      out->push_back(rel_path + " <lstat failed>");
      continue;
    }
    std::ostringstream line;
    line << rel_path << " mode=" << std::oct << st->st_mode << std::dec << " size=" << st->st_size
         << " nlink=" << st->st_nlink;
    if (S_ISREG(st->st_mode)) {
      const std::optional<std::string> content = ReadFile(path);
      line << " hash=" << std::hex << (content ? Fnv1a(*content) : 0);
    } else if (S_ISLNK(st->st_mode)) {
      char target[8192];
      const ssize_t n = ::readlink(path.c_str(), target, sizeof target);
      line << " target=" << std::string(target, n > 0 ? static_cast<size_t>(n) : 0);
    }
    char names[65536];
    const ssize_t list = ::llistxattr(path.c_str(), names, sizeof names);
    for (ssize_t i = 0; i < list; i += static_cast<ssize_t>(std::strlen(names + i)) + 1) {
      char value[65536];
      const ssize_t n = ::lgetxattr(path.c_str(), names + i, value, sizeof value);
      line << " xattr:" << (names + i) << "=" << std::hex
           << Fnv1a(std::string_view(value, n > 0 ? static_cast<size_t>(n) : 0)) << std::dec;
    }
    out->push_back(line.str());
    if (S_ISDIR(st->st_mode)) SnapshotDir(path, rel_path, mtimes, out);
  }
}

}  // namespace

std::string CliResult::Describe() const {
  std::ostringstream s;
  if (timed_out) s << "timed out, ";
  s << "exit " << exit_code << ", stderr: \"" << err << "\"";
  if (!out.empty()) s << ", stdout: \"" << out << "\"";
  return s.str();
}

bool CliResult::StderrIsOneLine() const {
  return err.size() >= 2 && err.back() == '\n' && std::count(err.begin(), err.end(), '\n') == 1;
}

pid_t DaemonPid(const std::string& mountpoint) {
  DIR* proc = ::opendir("/proc");
  pid_t found = 0;
  while (dirent* e = ::readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0 || pid == ::getpid()) continue;
    std::ifstream in("/proc/" + std::string(e->d_name) + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find("mount") != std::string::npos &&
        cmdline.find(mountpoint) != std::string::npos) {
      found = pid;
    }
  }
  ::closedir(proc);
  return found;
}

::testing::AssertionResult FailedCleanly(const CliResult& r, std::string topic) {
  if (r.timed_out) return ::testing::AssertionFailure() << "timed out: " << r.Describe();
  if (r.exit_code == 0) return ::testing::AssertionFailure() << "succeeded: " << r.Describe();
  if (r.exit_code < 0) return ::testing::AssertionFailure() << "crashed: " << r.Describe();
  if (!r.StderrIsOneLine()) {
    return ::testing::AssertionFailure() << "stderr is not exactly one line: " << r.Describe();
  }
  auto lower = [](std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return text;
  };
  if (!topic.empty() && lower(r.err).find(lower(topic)) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "error does not mention \"" << topic << "\": " << r.Describe();
  }
  return ::testing::AssertionSuccess() << r.err;
}

std::string ModelvaultBinary() {
  if (const char* env = std::getenv("MODELVAULT_BIN"); env != nullptr && *env != '\0') {
    return env;
  }
  return MODELVAULT_BIN;
}

CliResult RunCommand(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  CliResult result;
  Fd out(::memfd_create("mv-stdout", MFD_CLOEXEC));
  Fd err(::memfd_create("mv-stderr", MFD_CLOEXEC));
  if (!out.valid() || !err.valid() || argv.empty()) {
    result.err = "memfd_create failed: " + ErrnoName(errno);
    return result;
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) {
    result.err = "fork failed: " + ErrnoName(errno);
    return result;
  }
  if (pid == 0) {
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(out.get(), 1) < 0 ||
        ::dup2(err.get(), 2) < 0) {
      ::_exit(126);
    }
    ::execvp(args[0], args.data());
    const std::string msg = "exec " + argv[0] + " failed: " + ErrnoName(errno) + "\n";
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      result.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!result.timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  result.out = ReadMemfd(out.get());
  result.err = ReadMemfd(err.get());
  return result;
}

CliResult RunCli(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  std::vector<std::string> argv{ModelvaultBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, timeout);
}

std::string FuseUnavailableReason() {
  if (::geteuid() != 0) return "FUSE integration tests need root (euid is not 0)";
  struct stat st {};
  if (::stat("/dev/fuse", &st) != 0) return "/dev/fuse is missing: " + ErrnoName(errno);
  Fd fd(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return "cannot open /dev/fuse: " + ErrnoName(errno);
  return "";
}

bool FuseRequired() {
  const char* env = std::getenv("MODELVAULT_REQUIRE_FUSE");
  return env != nullptr && std::string_view(env) == "1";
}

bool IsMountPoint(const std::string& path) { return !MountType(path).empty(); }

std::string MountType(const std::string& path) {
  std::string type;
  for (const auto& [mp, fstype] : Mounts()) {
    if (mp == path) type = fstype;  // the last (topmost) mount wins
  }
  return type;
}

std::string MakeTempDir(std::string_view prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" +
                      std::string(prefix) + "-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) return "";
  char* real = ::realpath(templ.c_str(), nullptr);
  std::string out = real != nullptr ? real : templ;
  std::free(real);
  return out;
}

bool RemoveTree(const std::string& path) {
  if (path.empty()) return true;
  for (const auto& mount : Mounts()) {
    if (mount.first == path || mount.first.starts_with(path + "/")) return false;
  }
  const auto remove = [](const char* p, const struct stat*, int, struct FTW*) -> int {
    ::remove(p);
    return 0;
  };
  ::nftw(path.c_str(), remove, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  return true;
}

std::string SnapshotTree(const std::string& root, bool mtimes) {
  std::vector<std::string> lines;
  SnapshotDir(root, "", mtimes, &lines);
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

std::string BlockSizeName(const ::testing::TestParamInfo<uint32_t>& info) {
  return "bs" + std::to_string(info.param);
}

void MountFixture::SetUp() {
  if (const std::string reason = FuseUnavailableReason(); !reason.empty()) {
    if (FuseRequired()) GTEST_FAIL() << reason << " (and MODELVAULT_REQUIRE_FUSE=1)";
    GTEST_SKIP() << reason;
  }
  const std::string bin = ModelvaultBinary();
  ASSERT_FALSE(bin.empty()) << "MODELVAULT_BIN is not set (no modelvault target?)";
  ASSERT_EQ(::access(bin.c_str(), X_OK), 0)
      << "modelvault binary " << bin << ": " << ErrnoName(errno);

  const Options options = GetOptions();
  block_size_ = options.block_size != 0 ? options.block_size : kSpecDefaultBlockSize;
  root_ = MakeTempDir("mvfs");
  // Every command the test runs remembers header generations here, not in the host's own
  // /var/lib/modelvault (children inherit the environment).
  ::setenv("MODELVAULT_STATE_FILE", (root_ + "/state.json").c_str(), 1);
  ASSERT_FALSE(root_.empty()) << "mkdtemp: " << ErrnoName(errno);
  keyfile_ = T("key");
  backing_ = T("backing");
  mountpoint_ = T("mnt");
  const CliResult keygen = Keygen(keyfile_);
  ASSERT_TRUE(keygen.ok()) << "modelvault keygen: " << keygen.Describe();
  const CliResult init = Init(backing_, keyfile_, options.block_size);
  ASSERT_TRUE(init.ok()) << "modelvault init: " << init.Describe();
  MV_ASSERT_SYS(::mkdir(mountpoint_.c_str(), 0755));
  if (options.mount) {
    ASSERT_TRUE(Mount());
  }
}

void MountFixture::TearDown() {
  for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) {
    const std::string& mp = *it;
    if (!IsMountPoint(mp)) continue;
    const CliResult umount = RunCli({"umount", mp});
    if (umount.ok() && !IsMountPoint(mp)) continue;
    ADD_FAILURE() << "TearDown: modelvault umount " << mp << " failed (" << umount.Describe()
                  << "); detaching it with umount -l";
    const CliResult lazy = RunCommand({"umount", "-l", mp});
    if (!lazy.ok()) ADD_FAILURE() << "umount -l " << mp << ": " << lazy.Describe();
  }
  mounts_.clear();
  if (!root_.empty() && !RemoveTree(root_)) {
    ADD_FAILURE() << "left " << root_ << " behind: something is still mounted in it";
  }
}

std::string MountFixture::M(std::string_view rel) const {
  return rel.empty() ? mountpoint_ : mountpoint_ + "/" + std::string(rel);
}
std::string MountFixture::B(std::string_view rel) const {
  return rel.empty() ? backing_ : backing_ + "/" + std::string(rel);
}
std::string MountFixture::T(std::string_view rel) const {
  return rel.empty() ? root_ : root_ + "/" + std::string(rel);
}

CliResult MountFixture::Keygen(const std::string& path) { return RunCli({"keygen", path}); }

CliResult MountFixture::Init(const std::string& backing_dir, const std::string& key,
                             uint32_t block_size) {
  std::vector<std::string> args{"init", backing_dir, "--keyfile", key};
  if (block_size != 0) {
    args.push_back("--block-size");
    args.push_back(std::to_string(block_size));
  }
  return RunCli(args);
}

::testing::AssertionResult MountFixture::Mount(const std::string& backing_dir,
                                               const std::string& mp, const std::string& key,
                                               const std::vector<std::string>& extra) {
  std::vector<std::string> args{"mount", backing_dir, mp};
  if (!key.empty()) args.insert(args.end(), {"--keyfile", key});
  args.insert(args.end(), extra.begin(), extra.end());
  const CliResult mount = RunCli(args, std::chrono::seconds(60));
  if (!mount.ok()) {
    return ::testing::AssertionFailure() << "modelvault mount " << mp << ": " << mount.Describe();
  }
  mounts_.push_back(mp);
  const std::string type = MountType(mp);
  if (type.empty()) {
    return ::testing::AssertionFailure()
           << "modelvault mount exited 0 but " << mp << " is not a mount point";
  }
  if (!type.starts_with("fuse")) {
    return ::testing::AssertionFailure() << mp << " is mounted with type " << type;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult MountFixture::Unmount(const std::string& mp) {
  const CliResult umount = RunCli({"umount", mp}, std::chrono::seconds(60));
  if (!umount.ok()) {
    return ::testing::AssertionFailure() << "modelvault umount " << mp << ": " << umount.Describe();
  }
  if (IsMountPoint(mp)) {
    return ::testing::AssertionFailure()
           << "modelvault umount exited 0 but " << mp << " is still mounted";
  }
  std::erase(mounts_, mp);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult MountFixture::Remount(const std::vector<std::string>& extra) {
  ::testing::AssertionResult unmounted = Unmount(mountpoint_);
  if (!unmounted) return unmounted;
  return Mount(extra);
}

bool MountFixture::mounted(const std::string& mp) const {
  return std::find(mounts_.begin(), mounts_.end(), mp) != mounts_.end() && IsMountPoint(mp);
}

}  // namespace modelvault::fs::test
