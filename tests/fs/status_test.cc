// `modelvault status` and the daemon's counters on real mounts: bytes and requests read and
// written, a tampered block counted once, refusals of another user's process counted each
// (beyond the audit log's rate limit), the settings a mount reports, every mount listed,
// a mount whose daemon died reported as such, and paths that are not modelvault mounts.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"
#include "tests/fs/run_as.h"

namespace modelvault::fs::test {
namespace {

using nlohmann::json;

const Identity kReader{41001, 41001, {}};
const Identity kStranger{41002, 41002, {}};

// True once every thread of `pid` has stopped (SIGSTOP takes effect asynchronously).
bool Stopped(pid_t pid) {
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  for (const std::string& tid : ListDir(task)) {
    std::optional<std::string> st = ReadFile(task + "/" + tid + "/stat");
    if (!st) continue;
    size_t close = st->rfind(')');
    if (close == std::string::npos || close + 2 >= st->size() || (*st)[close + 2] != 'T') {
      return false;
    }
  }
  return true;
}

class StatusTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = true}; }

  // `modelvault status MP --json`, parsed; a failure is recorded and gives null.
  json Status(const std::string& mp) {
    CliResult r = RunCli({"status", mp, "--json"}, std::chrono::seconds(30));
    EXPECT_TRUE(r.ok()) << r.Describe();
    json parsed = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(parsed.is_object()) << r.out;
    return parsed.is_object() ? parsed : json();
  }
  uint64_t Counter(const std::string& mp, const char* name) {
    json s = Status(mp);
    return s.is_null() ? 0 : s["counters"][name].get<uint64_t>();
  }
  // Reads `len` bytes at `offset` with O_DIRECT, so that exactly one read request reaches
  // the daemon, with no readahead and no retry of a failed page; the errno, or 0.
  static int DirectRead(const std::string& path, off_t offset, size_t len) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECT));
    if (!fd.valid()) return errno;
    void* buf = std::aligned_alloc(4096, len);
    ssize_t n = ::pread(fd.get(), buf, len, offset);
    int err = n < 0 ? errno : (static_cast<size_t>(n) == len ? 0 : EIO);
    std::free(buf);
    return err;
  }
};

TEST_F(StatusTest, CountsBytesAndRequestsReadAndWritten) {
  const std::string data = PatternBytes(3, 100000);
  ASSERT_EQ(WriteFile(M("model.bin"), data), 0);
  json before = Status(mountpoint());
  ASSERT_FALSE(before.is_null());
  EXPECT_GE(before["counters"]["written_bytes"].get<uint64_t>(), data.size());
  EXPECT_GE(before["counters"]["write_requests"].get<uint64_t>(), 1u);
  EXPECT_EQ(before["counters"]["auth_failures"], 0);

  // A fresh mount has nothing cached: reading the file once asks the daemon for each byte
  // exactly once.
  ASSERT_TRUE(Remount());
  EXPECT_EQ(Counter(mountpoint(), "read_bytes"), 0u);
  EXPECT_TRUE(FileHolds(M("model.bin"), data));
  json after = Status(mountpoint());
  ASSERT_FALSE(after.is_null());
  EXPECT_EQ(after["counters"]["read_bytes"].get<uint64_t>(), data.size());
  EXPECT_GE(after["counters"]["read_requests"].get<uint64_t>(), 1u);
  EXPECT_EQ(after["counters"]["written_bytes"], 0);

  // Larger than one request: at least what was read, from one more request at least.
  const std::string big = PatternBytes(4, 3 << 20);
  ASSERT_EQ(WriteFile(M("big.bin"), big), 0);
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(FileHolds(M("big.bin"), big));
  EXPECT_GE(Counter(mountpoint(), "read_bytes"), big.size());
}

TEST_F(StatusTest, ATamperedBlockIsOneAuthenticationFailure) {
  constexpr size_t kBlock = 4096, kStored = kBlock + 28, kHeader = 32;
  ASSERT_EQ(WriteFile(M("model.bin"), PatternBytes(5, 3 * kBlock)), 0);
  ASSERT_TRUE(Unmount());
  std::string backing_file;
  for (const std::string& name : ListDir(B(""))) {
    auto st = Lstat(B(name));
    if (st && S_ISREG(st->st_mode) && st->st_size == kHeader + 3 * kStored) backing_file = B(name);
  }
  ASSERT_FALSE(backing_file.empty());
  {
    Fd fd(::open(backing_file.c_str(), O_RDWR));
    ASSERT_TRUE(fd.valid());
    int err = 0;
    std::string byte = PreadAll(fd.get(), 1, kHeader + kStored + 100, &err);
    ASSERT_EQ(byte.size(), 1u);
    byte[0] = static_cast<char>(byte[0] ^ 0x40);
    ASSERT_EQ(PwriteAll(fd.get(), byte, kHeader + kStored + 100), 0);
  }
  ASSERT_TRUE(Mount());
  EXPECT_EQ(DirectRead(M("model.bin"), 0, kBlock), 0);
  EXPECT_EQ(Counter(mountpoint(), "auth_failures"), 0u);
  EXPECT_EQ(DirectRead(M("model.bin"), kBlock, kBlock), EIO);
  EXPECT_EQ(Counter(mountpoint(), "auth_failures"), 1u);
  EXPECT_EQ(DirectRead(M("model.bin"), 2 * kBlock, kBlock), 0);
  EXPECT_EQ(Counter(mountpoint(), "auth_failures"), 1u);
}

TEST_F(StatusTest, EveryRefusalIsCountedBeyondTheAuditRateLimit) {
  ASSERT_EQ(::chmod(root().c_str(), 0755), 0);
  ASSERT_EQ(WriteFile(M("model.bin"), "weights"), 0);
  ASSERT_EQ(::chmod(mountpoint().c_str(), 0755), 0);
  ASSERT_TRUE(Unmount());
  const std::string log = T("audit.log");
  // Root mounts for another user only: root may read the status, not the files.
  ASSERT_TRUE(Mount({"--allow-uid", "41001", "--audit-log", log}));
  EXPECT_EQ(StatAs(kReader, M("model.bin")), 0);
  struct stat st;
  EXPECT_NE(::stat(M("model.bin").c_str(), &st), 0);
  EXPECT_EQ(errno, EACCES);
  // Reading the status lets root stat the mount's root, and nothing more.
  EXPECT_EQ(::stat(mountpoint().c_str(), &st), 0);
  int list_err = 0;
  ListDir(mountpoint(), &list_err);
  EXPECT_EQ(list_err, EACCES);
  json s = Status(mountpoint());
  ASSERT_FALSE(s.is_null());
  const uint64_t before = s["counters"]["denied_requests"].get<uint64_t>();
  EXPECT_GE(before, 1u);

  constexpr int kTries = 2000;
  int refused = RunAs(kStranger, [&] {
    int n = 0;
    for (int i = 0; i < kTries; ++i) {
      struct stat st2;
      if (::stat(M("model.bin").c_str(), &st2) != 0 && errno == EACCES) ++n;
    }
    return n == kTries ? 0 : 1;
  });
  EXPECT_EQ(refused, 0);
  const uint64_t denied = Counter(mountpoint(), "denied_requests");
  EXPECT_GE(denied, before + kTries);
  ASSERT_TRUE(Unmount());

  // The audit log wrote a few records and summed up the rest: together, every refusal the
  // counter saw.
  std::optional<std::string> text = ReadFile(log);
  ASSERT_TRUE(text.has_value());
  uint64_t records = 0, suppressed = 0;
  size_t start = 0;
  while (start < text->size()) {
    size_t end = text->find('\n', start);
    json r = json::parse(text->substr(start, end - start), nullptr, false);
    start = end == std::string::npos ? text->size() : end + 1;
    if (r.is_discarded()) continue;
    if (r["event"] == "access_denied") ++records;
    if (r["event"] == "access_denied_suppressed") suppressed += r["count"].get<uint64_t>();
  }
  EXPECT_LT(records, static_cast<uint64_t>(kTries)) << "the rate limit did not apply";
  EXPECT_EQ(records + suppressed, denied);
}

TEST_F(StatusTest, ShowsWhatTheMountIsAndListsEveryMount) {
  const std::string second = T("second");
  ASSERT_EQ(::mkdir(second.c_str(), 0755), 0);
  ASSERT_TRUE(Mount(backing(), second, keyfile(), {"--read-only", "--allow-uid", "41001"}));

  CliResult one = RunCli({"status", mountpoint()});
  ASSERT_TRUE(one.ok()) << one.Describe();
  EXPECT_NE(one.out.find("backing:"), std::string::npos) << one.out;
  EXPECT_NE(one.out.find(backing()), std::string::npos) << one.out;
  EXPECT_NE(one.out.find("read-write"), std::string::npos) << one.out;
  EXPECT_NE(one.out.find("keyslot 0 (keyfile)"), std::string::npos) << one.out;
  CliResult ro = RunCli({"status", second});
  ASSERT_TRUE(ro.ok()) << ro.Describe();
  EXPECT_NE(ro.out.find("read-only"), std::string::npos) << ro.out;
  EXPECT_NE(ro.out.find("41001"), std::string::npos) << ro.out;

  json s = Status(second);
  ASSERT_FALSE(s.is_null());
  EXPECT_EQ(s["backing"], backing());
  EXPECT_EQ(s["read_only"], true);
  EXPECT_EQ(s["unlock"]["keyslot"], 0);
  EXPECT_EQ(s["unlock"]["type"], "keyfile");
  EXPECT_EQ(s["access"]["uids"], json::array({41001}));
  EXPECT_EQ(s["pid"], DaemonPid(second));
  EXPECT_EQ(s["format_version"], 1);
  EXPECT_FALSE(s["version"].get<std::string>().empty());
  for (const char* c : {"read_bytes", "written_bytes", "read_requests", "write_requests",
                        "auth_failures", "denied_requests"}) {
    EXPECT_TRUE(s["counters"][c].is_number_unsigned()) << c;
  }

  // Other mounts on the host may be listed too; ours must be, answering.
  CliResult all = RunCli({"status", "--json"}, std::chrono::seconds(60));
  json list = json::parse(all.out, nullptr, false);
  ASSERT_TRUE(list.is_array()) << all.Describe();
  bool any_error = false;
  std::vector<std::string> ours;
  for (const json& m : list) {
    any_error = any_error || m.contains("error");
    if (m["mountpoint"] == mountpoint() || m["mountpoint"] == second) {
      EXPECT_FALSE(m.contains("error")) << m.dump();
      ours.push_back(m["mountpoint"]);
    }
  }
  EXPECT_EQ(ours.size(), 2u) << all.out;
  EXPECT_EQ(all.exit_code, any_error ? 1 : 0) << all.Describe();
  CliResult text = RunCli({"status"}, std::chrono::seconds(60));
  EXPECT_NE(text.out.find(mountpoint() + "\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(second + "\n"), std::string::npos) << text.out;
}

TEST_F(StatusTest, AHungOrDeadDaemonIsReportedAndAPlainDirectoryIsNoMount) {
  EXPECT_TRUE(FailedCleanly(RunCli({"status", T("")}), "not a modelvault mount"));
  EXPECT_TRUE(FailedCleanly(RunCli({"status", T("missing")}), "missing"));

  pid_t daemon = DaemonPid(mountpoint());
  ASSERT_GT(daemon, 0);
  // A daemon that does not answer: status gives up after its timeout.
  ASSERT_EQ(::kill(daemon, SIGSTOP), 0);
  for (int i = 0; i < 500 && !Stopped(daemon); ++i) ::usleep(10000);
  ASSERT_TRUE(Stopped(daemon));
  auto asked = std::chrono::steady_clock::now();
  CliResult hung = RunCli({"status", mountpoint(), "--timeout", "2"}, std::chrono::seconds(30));
  auto waited = std::chrono::steady_clock::now() - asked;
  ASSERT_EQ(::kill(daemon, SIGCONT), 0);
  EXPECT_TRUE(FailedCleanly(hung, "did not answer")) << hung.Describe();
  EXPECT_GE(waited, std::chrono::seconds(2));
  EXPECT_LT(waited, std::chrono::seconds(10));
  EXPECT_TRUE(RunCli({"status", mountpoint()}).ok());

  ASSERT_EQ(::kill(daemon, SIGKILL), 0);
  for (int i = 0; i < 500 && ::kill(daemon, 0) == 0; ++i) ::usleep(10000);
  auto started = std::chrono::steady_clock::now();
  CliResult r = RunCli({"status", mountpoint(), "--timeout", "3"}, std::chrono::seconds(30));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_TRUE(FailedCleanly(r, "not running")) << r.Describe();
  // The killed daemon's mount is detached by TearDown's `modelvault umount`.
}

TEST_F(StatusTest, HelpHasExamples) {
  CliResult r = RunCli({"status", "--help"});
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_NE(r.out.find("Examples:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("modelvault status /models"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--json"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace modelvault::fs::test
