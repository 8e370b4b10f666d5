// `modelvault audit verify` run as a user would: passes on a good log, fails with exit 1 and
// one line on stderr on an edited one, takes the key from a store's header, and says so
// clearly when the header has none. No FUSE needed.
#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "audit/audit_log.h"
#include "audit/record.h"
#include "crypto/base64.h"
#include "tests/audit/audit_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::audit {
namespace {

using fs::test::CliResult;
using fs::test::FailedCleanly;
using fs::test::RunCli;
using nlohmann::json;

class AuditCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Commands remember header generations here, not in the host's state directory.
    ::setenv("MODELVAULT_STATE_FILE", dir_.File("state.json").c_str(), 1);
  }

  void WriteLog(const std::string& volume, int n) {
    auto log = AuditLog::Open({.path = log_}, volume);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->SetSigningSeed(test::TestSeed()).ok());
    for (int i = 0; i < n; ++i) ASSERT_TRUE((*log)->Record("mount", {{"i", i}}).ok());
  }

  // A store whose header carries `audit_key` (none if empty); returns its volume ID.
  std::string MakeStore(const std::vector<uint8_t>& audit_key) {
    const std::string key = dir_.File("key");
    EXPECT_TRUE(RunCli({"keygen", key}).ok());
    CliResult init = RunCli({"init", backing_, "--keyfile", key});
    EXPECT_TRUE(init.ok()) << init.Describe();
    // The header's MAC is not checked by a reader without the key, so the test may set the
    // field the way `init` will once it derives the audit key.
    const std::string header_path = backing_ + "/modelvault.json";
    std::ifstream in(header_path);
    json header = json::parse(in);
    header.erase("audit_key");
    if (!audit_key.empty()) header["audit_key"] = crypto::Base64Encode(audit_key);
    std::ofstream(header_path, std::ios::trunc) << header.dump(2);
    return header["volume_id"].get<std::string>();
  }

  test::TempDir dir_;
  std::string log_ = dir_.File("audit.log");
  std::string backing_ = dir_.File("backing");
  std::string key_b64_ = crypto::Base64Encode(test::TestPublicKey());
};

TEST_F(AuditCliTest, GoodLogPassesAndEditedLogFails) {
  WriteLog(test::kVolume, 3);
  CliResult good = RunCli({"audit", "verify", log_, "--public-key", key_b64_});
  EXPECT_TRUE(good.ok()) << good.Describe();
  EXPECT_NE(good.out.find("3 records, 3 signed, first "), std::string::npos) << good.out;

  std::vector<std::string> lines = test::ReadLines(log_);
  json r = json::parse(lines[1]);
  r["i"] = 7;
  lines[1] = CanonicalJson(r);
  test::WriteLines(log_, lines);
  CliResult bad = RunCli({"audit", "verify", log_, "--public-key", key_b64_});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(FailedCleanly(bad, log_));
  EXPECT_NE(bad.err.find("2 problems (first: line 2: record edited: signature does not verify)"),
            std::string::npos)
      << bad.err;
  EXPECT_NE(bad.out.find("line 3: chain broken: prev does not match line 2"), std::string::npos)
      << bad.out;
}

TEST_F(AuditCliTest, KeyFromTheStoreHeader) {
  std::string volume = MakeStore(test::TestPublicKey());
  if (HasFailure()) return;
  WriteLog(volume, 2);
  CliResult good = RunCli({"audit", "verify", log_, "--backing", backing_});
  EXPECT_TRUE(good.ok()) << good.Describe();

  // Records of another store fail against this one's header.
  WriteLog(test::kOtherVolume, 1);
  CliResult other = RunCli({"audit", "verify", log_, "--backing", backing_});
  EXPECT_TRUE(FailedCleanly(other, "another store")) << other.Describe();
}

TEST_F(AuditCliTest, HeaderWithoutAuditKeyIsExplained) {
  MakeStore({});
  if (HasFailure()) return;
  WriteLog(test::kVolume, 1);
  CliResult r = RunCli({"audit", "verify", log_, "--backing", backing_});
  EXPECT_TRUE(FailedCleanly(r, "has no audit key")) << r.Describe();
}

TEST_F(AuditCliTest, UsageErrorsAndHelp) {
  WriteLog(test::kVolume, 1);
  EXPECT_TRUE(FailedCleanly(RunCli({"audit", "verify", log_}), "--public-key"));
  EXPECT_TRUE(FailedCleanly(RunCli({"audit", "verify", log_, "--public-key", "AAAA"}), "32-byte"));
  EXPECT_TRUE(
      FailedCleanly(RunCli({"audit", "verify", dir_.File("missing"), "--public-key", key_b64_}),
                    dir_.File("missing")));
  CliResult help = RunCli({"audit", "verify", "--help"});
  EXPECT_TRUE(help.ok());
  EXPECT_NE(help.out.find("Examples:"), std::string::npos);
}

}  // namespace
}  // namespace modelvault::audit
