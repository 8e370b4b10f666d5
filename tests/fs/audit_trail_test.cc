// The audit trail end to end: every kind of key and access event written by the real
// commands and the mount daemon lands in the log, a flood of refused requests from another
// user stays within the rate limit, `audit verify` accepts the log, and edited, deleted,
// inserted and reordered records are each caught.
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"
#include "tests/fs/run_as.h"

namespace modelvault::fs::test {
namespace {

using nlohmann::json;

const Identity kReader{41001, 41001, {}};
const Identity kStranger{41002, 41002, {}};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class AuditTrailTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = false}; }

  std::string Log() const { return T("store.audit"); }
  std::vector<std::string> Audit(std::vector<std::string> args) {
    args.insert(args.end(), {"--audit-log", Log()});
    return args;
  }
  std::map<std::string, std::vector<json>> Events() {
    std::map<std::string, std::vector<json>> events;
    auto text = ReadFile(Log());
    EXPECT_TRUE(text.has_value());
    for (const auto& line : Lines(text.value_or(""))) {
      json record = json::parse(line);
      events[record["event"].get<std::string>()].push_back(record);
    }
    return events;
  }
  CliResult Verify() { return RunCli({"audit", "verify", Log(), "--backing", backing()}); }
  void Rewrite(const std::vector<std::string>& lines) {
    std::ofstream out(Log(), std::ios::trunc);
    for (const auto& line : lines) out << line << "\n";
  }
};

TEST_F(AuditTrailTest, EveryEventIsRecordedSignedAndVerifiable) {
  ASSERT_EQ(::chmod(root().c_str(), 0755), 0);
  ASSERT_TRUE(RemoveTree(backing()));
  ASSERT_TRUE(RunCli(Audit({"init", backing(), "--keyfile", keyfile()})).ok());
  ASSERT_TRUE(Keygen(T("second.key")).ok());
  ASSERT_TRUE(RunCli(Audit({"keyslot", "add", backing(), "--keyfile", keyfile(), "--new-keyfile",
                            T("second.key")}))
                  .ok());
  ASSERT_TRUE(RunCli(Audit({"keyslot", "remove", backing(), "1", "--keyfile", keyfile()})).ok());
  // A failed unlock is on record too, though nobody could sign it then.
  EXPECT_FALSE(
      RunCli(Audit({"mount", backing(), mountpoint(), "--keyfile", T("second.key")})).ok());
  ASSERT_TRUE(Mount(backing(), mountpoint(), keyfile(), {"--audit-log", Log()}));
  ASSERT_EQ(::chmod(mountpoint().c_str(), 0755), 0);
  ASSERT_EQ(WriteFile(M("model.bin"), "weights"), 0);
  ASSERT_TRUE(Unmount());
  ASSERT_TRUE(Mount(backing(), mountpoint(), keyfile(),
                    {"--audit-log", Log(), "--allow-uid", "41001", "--read-only"}));
  EXPECT_EQ(OpenAndReadAs(kReader, M("model.bin")), 0);
  // A tight loop of refused requests from another user.
  constexpr int kTries = 3000;
  int refused = RunAs(kStranger, [&] {
    int n = 0;
    for (int i = 0; i < kTries; ++i) {
      struct stat st;
      if (stat(M("model.bin").c_str(), &st) != 0 && errno == EACCES) ++n;
    }
    return n == kTries ? 0 : 1;
  });
  EXPECT_EQ(refused, 0);
  ASSERT_TRUE(Unmount());
  // A read-only daemon holds no lock that `umount` could wait for; its last record follows
  // shortly after the mount is gone.
  for (int i = 0; i < 500 && Events()["unmount"].size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  auto events = Events();
  for (const char* event : {"store_created", "keyslot_added", "keyslot_removed", "unlock", "mount",
                            "access_denied", "unmount"}) {
    EXPECT_FALSE(events[event].empty()) << "no " << event << " record";
  }
  bool failed_unlock = false;
  for (const json& r : events["unlock"]) {
    if (r["outcome"] == "failed") {
      failed_unlock = true;
      EXPECT_FALSE(r.contains("sig")) << r.dump();
    } else {
      EXPECT_TRUE(r.contains("sig")) << r.dump();
    }
  }
  EXPECT_TRUE(failed_unlock);
  const json& denied = events["access_denied"].front();
  EXPECT_EQ(denied["uid"], 41002);
  EXPECT_EQ(denied["gid"], 41002);
  EXPECT_TRUE(denied.contains("pid"));
  EXPECT_TRUE(denied.contains("operation"));
  // The flood is summarized, not written out: a few dozen records for thousands of refusals.
  EXPECT_LE(events["access_denied"].size(), 40u);
  uint64_t suppressed = 0;
  for (const json& r : events["access_denied_suppressed"]) suppressed += r["count"].get<uint64_t>();
  EXPECT_GE(suppressed + events["access_denied"].size(), static_cast<uint64_t>(kTries));

  CliResult verified = Verify();
  EXPECT_TRUE(verified.ok()) << verified.Describe();
}

TEST_F(AuditTrailTest, EditedDeletedInsertedAndReorderedRecordsAreCaught) {
  ASSERT_TRUE(RemoveTree(backing()));
  ASSERT_TRUE(RunCli(Audit({"init", backing(), "--keyfile", keyfile()})).ok());
  ASSERT_TRUE(Keygen(T("k2")).ok());
  ASSERT_TRUE(Keygen(T("k3")).ok());
  ASSERT_TRUE(
      RunCli(Audit({"keyslot", "add", backing(), "--keyfile", keyfile(), "--new-keyfile", T("k2")}))
          .ok());
  ASSERT_TRUE(
      RunCli(Audit({"keyslot", "add", backing(), "--keyfile", keyfile(), "--new-keyfile", T("k3")}))
          .ok());
  ASSERT_TRUE(Verify().ok());
  const std::vector<std::string> good = Lines(*ReadFile(Log()));
  ASSERT_GE(good.size(), 5u);

  std::vector<std::string> edited = good;
  json record = json::parse(edited[2]);
  record["slot"] = 9;
  edited[2] = record.dump();
  std::vector<std::string> deleted = good;
  deleted.erase(deleted.begin() + 2);
  std::vector<std::string> inserted = good;
  inserted.insert(inserted.begin() + 2, good[1]);
  std::vector<std::string> reordered = good;
  std::swap(reordered[1], reordered[2]);
  for (const auto& [name, lines] :
       std::vector<std::pair<std::string, std::vector<std::string>>>{{"edited", edited},
                                                                     {"deleted", deleted},
                                                                     {"inserted", inserted},
                                                                     {"reordered", reordered}}) {
    Rewrite(lines);
    EXPECT_TRUE(FailedCleanly(Verify(), "problem")) << name;
  }
  Rewrite(good);
  EXPECT_TRUE(Verify().ok());
}

}  // namespace
}  // namespace modelvault::fs::test
