// VerifyAuditLog against every way of tampering with a log: an edited field, a deleted,
// inserted, forged or swapped record, a truncated line, records of another store, the wrong
// key; and what it accepts: unsigned records covered by a later signature.
#include "audit/verify.h"

#include <algorithm>

#include "audit/audit_log.h"
#include "audit/record.h"
#include "crypto/base64.h"
#include "crypto/ed25519.h"
#include "tests/audit/audit_test_util.h"

namespace modelvault::audit {
namespace {

using nlohmann::json;
using test::ReadLines;
using test::WriteLines;

bool Mentions(const AuditFinding& f, const std::string& text) {
  return f.what.find(text) != std::string::npos;
}

// Six signed records of kVolume, in audit.log.
class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = AuditLog::Open({.path = path_}, test::kVolume);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->SetSigningSeed(test::TestSeed()).ok());
    for (int i = 1; i <= 6; ++i) ASSERT_TRUE((*log)->Record("event", {{"n", i}}).ok());
    lines_ = ReadLines(path_);
    ASSERT_EQ(lines_.size(), 6u);
  }

  VerifyReport Verify(std::vector<uint8_t> key = test::TestPublicKey(), std::string volume = "") {
    auto report = VerifyAuditLog(path_, {.public_key = std::move(key), .volume_hex = volume});
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? std::move(report).value() : VerifyReport{};
  }
  // True if some problem is on `line` and mentions `text`.
  static bool HasProblem(const VerifyReport& r, uint64_t line, const std::string& text) {
    return std::any_of(r.problems.begin(), r.problems.end(),
                       [&](const AuditFinding& f) { return f.line == line && Mentions(f, text); });
  }

  test::TempDir dir_;
  std::string path_ = dir_.File("audit.log");
  std::vector<std::string> lines_;
};

TEST_F(VerifyTest, IntactLogVerifies) {
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.records, 6u);
  EXPECT_EQ(r.signed_records, 6u);
  // A bad key is refused, not reported as problems.
  EXPECT_EQ(VerifyAuditLog(path_, {.public_key = {1, 2, 3}}).status().code(),
            Code::kInvalidArgument);
  auto missing = VerifyAuditLog(dir_.File("nope"), {.public_key = test::TestPublicKey()});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(dir_.File("nope")), std::string::npos);
}

TEST_F(VerifyTest, EditedFieldIsDetected) {
  json r = json::parse(lines_[2]);
  r["n"] = 42;
  lines_[2] = CanonicalJson(r);
  WriteLines(path_, lines_);
  VerifyReport report = Verify();
  EXPECT_FALSE(report.ok());
  EXPECT_TRUE(HasProblem(report, 3, "record edited: signature does not verify"));
  EXPECT_TRUE(HasProblem(report, 4, "chain broken: prev does not match line 3"));
  EXPECT_EQ(report.signed_records, 5u);
}

TEST_F(VerifyTest, DeletedMiddleRecordIsDetected) {
  lines_.erase(lines_.begin() + 2);
  WriteLines(path_, lines_);
  VerifyReport report = Verify();
  EXPECT_TRUE(HasProblem(report, 3, "record missing or reordered: seq 4 follows 2"));
  EXPECT_TRUE(HasProblem(report, 3, "chain broken: prev does not match line 2"));
  EXPECT_EQ(report.problem_count, 2u);
}

TEST_F(VerifyTest, InsertedForgedRecordIsDetected) {
  // The forger continues the chain correctly but cannot sign with the store's key.
  json forged = {{"seq", 3},
                 {"time", "2024-01-01T00:00:00.000Z"},
                 {"volume", test::kVolume},
                 {"event", "mount"},
                 {"prev", LineHash(lines_[1])}};
  auto other = crypto::Ed25519PrivateKey::FromSeed(test::TestSeed(9));
  std::string body = SignedBody(forged);
  auto sig = other->Sign(std::span(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
  forged["sig"] = crypto::Base64Encode(*sig);
  lines_.insert(lines_.begin() + 2, CanonicalJson(forged));
  WriteLines(path_, lines_);
  VerifyReport report = Verify();
  EXPECT_TRUE(HasProblem(report, 3, "record edited: signature does not verify"));
  EXPECT_TRUE(HasProblem(report, 4, "seq 3 follows 3"));
  EXPECT_TRUE(HasProblem(report, 4, "chain broken: prev does not match line 3"));

  // Unsigned, it still breaks the chain of the record after it.
  forged.erase("sig");
  lines_[2] = CanonicalJson(forged);
  WriteLines(path_, lines_);
  report = Verify();
  EXPECT_FALSE(HasProblem(report, 3, "signature"));
  EXPECT_TRUE(HasProblem(report, 4, "chain broken"));
}

TEST_F(VerifyTest, SwappedRecordsAreDetected) {
  std::swap(lines_[2], lines_[3]);
  WriteLines(path_, lines_);
  VerifyReport report = Verify();
  EXPECT_TRUE(HasProblem(report, 3, "record missing or reordered: seq 4 follows 2"));
  EXPECT_TRUE(HasProblem(report, 4, "record missing or reordered: seq 3 follows 4"));
  EXPECT_TRUE(HasProblem(report, 3, "chain broken"));
  EXPECT_TRUE(HasProblem(report, 5, "chain broken: prev does not match line 4"));
  EXPECT_EQ(report.signed_records, 6u);  // each record is genuine, only the order is not
}

TEST_F(VerifyTest, TruncationMidLineIsReported) {
  lines_.back().resize(lines_.back().size() / 2);
  std::string text;
  for (const std::string& l : lines_) text += l + "\n";
  text.pop_back();  // no newline after the cut
  WriteLines(path_, {});
  test::AppendRaw(path_, text);
  VerifyReport report = Verify();
  EXPECT_EQ(report.records, 5u);
  ASSERT_EQ(report.problem_count, 1u);
  EXPECT_TRUE(HasProblem(report, 6, "incomplete last line"));
}

TEST_F(VerifyTest, RecordsOfAnotherStoreAreReported) {
  VerifyReport report = Verify(test::TestPublicKey(), test::kOtherVolume);
  EXPECT_EQ(report.problem_count, 6u);
  EXPECT_TRUE(HasProblem(report, 1, "record of another store"));

  // Records of another volume appended to this log: found without naming the volume.
  auto other = AuditLog::Open({.path = path_}, test::kOtherVolume);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->SetSigningSeed(test::TestSeed()).ok());
  ASSERT_TRUE((*other)->Record("mount").ok());
  report = Verify();
  ASSERT_EQ(report.problem_count, 1u);
  EXPECT_TRUE(HasProblem(report, 7, "record of another store"));
}

TEST_F(VerifyTest, WrongPublicKeyFailsEverySignedRecord) {
  VerifyReport report = Verify(test::TestPublicKey(9));
  EXPECT_EQ(report.problem_count, 6u);
  EXPECT_EQ(report.signed_records, 0u);
  for (uint64_t line = 1; line <= 6; ++line) {
    EXPECT_TRUE(HasProblem(report, line, "signature does not verify")) << line;
  }
}

TEST_F(VerifyTest, NonRecordLinesAreReported) {
  lines_.insert(lines_.begin() + 1, "not json at all");
  lines_.insert(lines_.begin() + 2, "{\"seq\":\"three\"}");
  lines_.insert(lines_.begin() + 3, "");
  lines_.insert(lines_.begin() + 4, std::string(kMaxRecordSize + 10, '{'));
  WriteLines(path_, lines_);
  VerifyReport report = Verify();
  EXPECT_EQ(report.records, 6u);
  EXPECT_EQ(report.problem_count, 4u);
  EXPECT_TRUE(HasProblem(report, 2, "not JSON"));
  EXPECT_TRUE(HasProblem(report, 3, "no positive integer"));
  EXPECT_TRUE(HasProblem(report, 4, "empty line"));
  EXPECT_TRUE(HasProblem(report, 5, "longer than"));
}

TEST_F(VerifyTest, EditingAnUnsignedRecordBreaksTheChainToTheNextSignedOne) {
  // Strip the signature of record 3 and edit it: record 4's prev still names the original.
  json r = json::parse(lines_[2]);
  r.erase("sig");
  r["n"] = 99;
  lines_[2] = CanonicalJson(r);
  WriteLines(path_, lines_);
  VerifyReport report = Verify();
  ASSERT_EQ(report.problem_count, 1u);
  EXPECT_TRUE(HasProblem(report, 4, "chain broken: prev does not match line 3"));
}

TEST_F(VerifyTest, TrailingUnsignedRecordsAreAWarning) {
  auto log = AuditLog::Open({.path = path_}, test::kVolume);  // no key yet
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Record("unlock_failed").ok());
  ASSERT_TRUE((*log)->Record("unlock_failed").ok());
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.trailing_unsigned, 2u);
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_EQ(report.warnings[0].line, 7u);
  EXPECT_TRUE(Mentions(report.warnings[0], "to line 8 not yet covered by a signature"));
}

}  // namespace
}  // namespace modelvault::audit
