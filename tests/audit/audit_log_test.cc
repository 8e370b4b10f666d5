// AuditLog as a writer: the fields of each record, refused fields, unsigned records before
// the key is known, a torn tail that must not wedge later appends, and the chain tail found
// across chunk boundaries and foreign text.
#include "audit/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <regex>

#include "audit/log_file.h"
#include "audit/record.h"
#include "audit/verify.h"
#include "tests/audit/audit_test_util.h"

namespace modelvault::audit {
namespace {

using nlohmann::json;
using test::ReadLines;
using test::TempDir;

std::unique_ptr<AuditLog> OpenLog(const std::string& path, bool sign = true,
                                  const std::string& volume = test::kVolume) {
  auto log = AuditLog::Open({.path = path}, volume);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  if (!log.ok()) return nullptr;
  if (sign) {
    EXPECT_TRUE((*log)->SetSigningSeed(test::TestSeed()).ok());
  }
  return std::move(log).value();
}

VerifyReport Verify(const std::string& path) {
  auto report = VerifyAuditLog(path, {.public_key = test::TestPublicKey()});
  EXPECT_TRUE(report.ok()) << report.status().ToString();
  return report.ok() ? std::move(report).value() : VerifyReport{};
}

TEST(AuditLogTest, RecordsCarryTheirFieldsAndVerify) {
  TempDir dir;
  const std::string path = dir.File("audit.log");
  {
    auto log = OpenLog(path);
    ASSERT_TRUE(log->Record("mount", {{"mountpoint", "/models"}, {"uid", 0}}).ok());
    ASSERT_TRUE(log->Record("unmount").ok());
    ASSERT_TRUE(log->Record("keyslot_add", {{"slot", 2}, {"type", "tpm2"}}).ok());
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  std::vector<std::string> lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 3u);
  const std::regex time_re(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  std::string prev(kZeroHash);
  for (size_t i = 0; i < lines.size(); ++i) {
    json r = json::parse(lines[i]);
    EXPECT_EQ(r["seq"], i + 1);
    EXPECT_TRUE(std::regex_match(r["time"].get<std::string>(), time_re)) << r["time"];
    EXPECT_EQ(r["volume"], test::kVolume);
    EXPECT_EQ(r["prev"], prev);
    EXPECT_TRUE(r["sig"].is_string());
    EXPECT_EQ(lines[i], CanonicalJson(r)) << "lines are compact JSON with sorted keys";
    prev = LineHash(lines[i]);
  }
  json first = json::parse(lines[0]);
  EXPECT_EQ(first["event"], "mount");
  EXPECT_EQ(first["mountpoint"], "/models");
  EXPECT_EQ(first["uid"], 0);
  EXPECT_EQ(json::parse(lines[2])["type"], "tpm2");

  VerifyReport report = Verify(path);
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.records, 3u);
  EXPECT_EQ(report.signed_records, 3u);
  EXPECT_EQ(report.trailing_unsigned, 0u);
  EXPECT_TRUE(report.warnings.empty());
  EXPECT_EQ(report.first_time, first["time"]);
}

TEST(AuditLogTest, RefusesReservedAndMalformedFields) {
  TempDir dir;
  const std::string path = dir.File("audit.log");
  auto log = OpenLog(path);
  for (const char* name : {"seq", "time", "volume", "event", "prev", "sig"}) {
    Status st = log->Record("x", {{name, 1}});
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << name;
    EXPECT_NE(st.message().find(name), std::string::npos) << st.message();
    EXPECT_EQ(log->RecordDenied({{name, 1}}).code(), Code::kInvalidArgument) << name;
  }
  EXPECT_EQ(log->Record("x", json::array({1, 2})).code(), Code::kInvalidArgument);
  EXPECT_EQ(log->Record("x", {{"blob", std::string(kMaxRecordSize, 'a')}}).code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(ReadLines(path).empty());
}

TEST(AuditLogTest, OpenRefusesBadOptionsAndNamesTheFile) {
  TempDir dir;
  EXPECT_EQ(AuditLog::Open({.path = ""}, test::kVolume).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(
      AuditLog::Open({.path = dir.File("a"), .denied_burst = 0}, test::kVolume).status().code(),
      Code::kInvalidArgument);
  EXPECT_EQ(AuditLog::Open({.path = dir.File("a"), .denied_per_second = -1}, test::kVolume)
                .status()
                .code(),
            Code::kInvalidArgument);
  EXPECT_EQ(AuditLog::Open({.path = dir.File("a")}, "NOT-HEX").status().code(),
            Code::kInvalidArgument);
  const std::string missing = dir.File("no/such/dir/audit.log");
  auto log = AuditLog::Open({.path = missing}, test::kVolume);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find(missing), std::string::npos) << log.status().message();
  auto bad_seed = OpenLog(dir.File("b"), false);
  EXPECT_EQ(bad_seed->SetSigningSeed(SecretBytes(31)).code(), Code::kInvalidArgument);
}

TEST(AuditLogTest, SyslogCopyLeavesTheFileAsItWas) {
  // Where the copy goes cannot be checked here (no syslog daemon in a test); the path is
  // exercised and the file must be the same.
  TempDir dir;
  const std::string path = dir.File("audit.log");
  auto log = AuditLog::Open({.path = path, .syslog = true}, test::kVolume);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Record("mount", {{"note", "syslog copy test"}}).ok());
  EXPECT_EQ(ReadLines(path).size(), 1u);
  EXPECT_TRUE(Verify(path).ok());
}

TEST(AuditLogTest, UnsignedRecordsAreCoveredByALaterSignedOne) {
  TempDir dir;
  const std::string path = dir.File("audit.log");
  {
    // Before the key is known: a failed unlock, say.
    auto log = OpenLog(path, /*sign=*/false);
    ASSERT_TRUE(log->Record("unlock_failed", {{"slot", 1}}).ok());
    ASSERT_TRUE(log->Record("unlock_failed", {{"slot", 2}}).ok());
  }
  VerifyReport before = Verify(path);
  EXPECT_TRUE(before.ok());
  EXPECT_EQ(before.trailing_unsigned, 2u);
  ASSERT_EQ(before.warnings.size(), 1u);
  EXPECT_EQ(before.warnings[0].line, 1u);
  EXPECT_NE(before.warnings[0].what.find("not yet covered by a signature"), std::string::npos);
  {
    auto log = OpenLog(path, /*sign=*/false);
    ASSERT_TRUE(log->SetSigningSeed(test::TestSeed()).ok());
    ASSERT_TRUE(log->Record("unlock", {{"slot", 3}}).ok());
  }
  EXPECT_FALSE(json::parse(ReadLines(path)[0]).contains("sig"));
  VerifyReport after = Verify(path);
  EXPECT_TRUE(after.ok());
  EXPECT_EQ(after.records, 3u);
  EXPECT_EQ(after.signed_records, 1u);
  EXPECT_EQ(after.trailing_unsigned, 0u);
  EXPECT_TRUE(after.warnings.empty());
}

TEST(AuditLogTest, TornTailDoesNotWedgeLaterAppends) {
  TempDir dir;
  const std::string path = dir.File("audit.log");
  auto log = OpenLog(path);
  ASSERT_TRUE(log->Record("a").ok());
  ASSERT_TRUE(log->Record("b").ok());
  std::string second = ReadLines(path)[1];
  test::AppendRaw(path, second.substr(0, 40));  // a crash in the middle of record 3
  ASSERT_TRUE(log->Record("c").ok());

  std::vector<std::string> lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[2], second.substr(0, 40));
  json third = json::parse(lines[3]);
  EXPECT_EQ(third["seq"], 3);
  EXPECT_EQ(third["prev"], LineHash(lines[1]));

  VerifyReport report = Verify(path);
  EXPECT_EQ(report.records, 3u);
  EXPECT_EQ(report.signed_records, 3u);
  ASSERT_EQ(report.problem_count, 1u);
  EXPECT_EQ(report.problems[0].line, 3u);
  EXPECT_NE(report.problems[0].what.find("not JSON"), std::string::npos);
}

TEST(AuditLogTest, InvalidUtf8InAFieldIsReplacedAndStillVerifies) {
  TempDir dir;
  const std::string path = dir.File("audit.log");
  auto log = OpenLog(path);
  ASSERT_TRUE(log->Record("open", {{"name", std::string("caf\xc3", 4)}}).ok());
  ASSERT_TRUE(log->Record("open", {{"ratio", 0.1}, {"big", 18446744073709551615ull}}).ok());
  EXPECT_EQ(json::parse(ReadLines(path)[0])["name"], "caf\xef\xbf\xbd");
  VerifyReport report = Verify(path);
  EXPECT_TRUE(report.ok()) << report.problems[0].what;
  EXPECT_EQ(report.signed_records, 2u);
}

TEST(ChainTailTest, FindsTheLastRecordAcrossChunksAndForeignText) {
  TempDir dir;
  const std::string path = dir.File("audit.log");
  auto log = OpenLog(path);
  ASSERT_TRUE(log->Record("big", {{"blob", std::string(40000, 'x')}}).ok());
  ASSERT_TRUE(log->Record("big", {{"blob", std::string(40000, 'y')}}).ok());
  std::string last = ReadLines(path)[1];
  // Foreign lines after it (longer than one read chunk in total) are not records.
  for (int i = 0; i < 50; ++i) test::AppendRaw(path, std::string(1000, 'z') + "\n");
  test::AppendRaw(path, "\n{\"no\":\"seq\"}\n[1,2]\n");

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto tail = ReadChainTail(fd, path);
  ::close(fd);
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  EXPECT_EQ(tail->last_seq, 2u);
  EXPECT_EQ(tail->prev_hash, LineHash(last));
  EXPECT_FALSE(tail->needs_newline);

  ASSERT_TRUE(log->Record("after").ok());
  json after = json::parse(ReadLines(path).back());
  EXPECT_EQ(after["seq"], 3);
  EXPECT_EQ(after["prev"], LineHash(last));
}

TEST(ChainTailTest, EmptyAndRecordlessFiles) {
  TempDir dir;
  const std::string path = dir.File("audit.log");
  test::AppendRaw(path, "hello");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  auto tail = ReadChainTail(fd, path);
  ::close(fd);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->last_seq, 0u);
  EXPECT_EQ(tail->prev_hash, kZeroHash);
  EXPECT_TRUE(tail->needs_newline);
  auto log = OpenLog(path);
  ASSERT_TRUE(log->Record("first").ok());
  std::vector<std::string> lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(json::parse(lines[1])["seq"], 1);
}

}  // namespace
}  // namespace modelvault::audit
