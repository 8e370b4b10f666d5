// `modelvault sign` and `unfreeze` where publishing goes wrong: a hard link that reaches the
// directory from outside, a signed directory inside, a re-sign with the directory still
// frozen, a read-only mount, a failure after the freeze, and a sign that never finished.
// Each refusal names the problem (and files by their names in the mount) and leaves the
// store as it was; the unfinished sign can be completed or undone. Unfreezing, granted or
// refused, goes into the publisher's audit log, and a refused one into the mount's too.
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"
#include "tests/fs/signed_mount_fixture.h"

namespace modelvault::fs::test {
namespace {

class SignedPublishTest : public SignedMountTest {
 protected:
  void SetUp() override {
    SignedMountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(::mkdir(M("m").c_str(), 0755), 0);
    ASSERT_EQ(WriteFile(M("m/weights.bin"), PatternBytes(1, 3 * 4096 + 100)), 0);
    ASSERT_EQ(WriteFile(M("m/config.json"), "{}"), 0);
    signed_backing_ = BackingOf(M("m"));
  }

  CliResult Sign(const std::string& key, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"sign", M("m"), "--signing-key", key};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCli(args);
  }
  bool InBacking(const std::string& name) {
    return Lstat(signed_backing_ + "/" + name).has_value();
  }
  // The directory is as it was before a sign: writable, and nothing of a signature left.
  void ExpectUnsigned() {
    EXPECT_EQ(WriteFile(M("m/config.json"), "{\"still\": \"writable\"}"), 0);
    EXPECT_FALSE(InBacking(".mvfrozen"));
    EXPECT_FALSE(InBacking(".mvmanifest"));
    EXPECT_FALSE(InBacking(".mvhashes"));
  }

  std::string signed_backing_;
};

TEST_F(SignedPublishTest, AHardLinkFromOutsideIsRefusedOneInsideIsSigned) {
  ASSERT_EQ(::link(M("m/weights.bin").c_str(), M("elsewhere.bin").c_str()), 0);
  CliResult refused = Sign(T("pub.key"));
  EXPECT_TRUE(FailedCleanly(refused, "hard link outside"));
  EXPECT_NE(refused.err.find(M("m/weights.bin")), std::string::npos) << refused.err;
  ExpectUnsigned();
  // Through the outside link the signed content would have stayed writable.
  ASSERT_EQ(::unlink(M("elsewhere.bin").c_str()), 0);
  ASSERT_EQ(::link(M("m/weights.bin").c_str(), M("m/alias.bin").c_str()), 0);
  CliResult sign = Sign(T("pub.key"));
  ASSERT_TRUE(sign.ok()) << sign.Describe();
  MV_EXPECT_ERRNO(::link(M("m/weights.bin").c_str(), M("out.bin").c_str()), EROFS);
  ASSERT_TRUE(Unmount());
  CliResult verify = RunCli({"verify", backing(), "--trust", T("pub.pem")});
  EXPECT_TRUE(verify.ok()) << verify.Describe();
}

TEST_F(SignedPublishTest, SigningAroundASignedDirectoryNamesItAsTheMountShowsIt) {
  ASSERT_EQ(::mkdir(M("m/inner").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile(M("m/inner/a.bin"), "a"), 0);
  ASSERT_TRUE(RunCli({"sign", M("m/inner"), "--signing-key", T("pub.key")}).ok());
  CliResult refused = Sign(T("pub.key"));
  EXPECT_TRUE(FailedCleanly(refused, "cannot nest"));
  EXPECT_NE(refused.err.find(M("m/inner") + " ("), std::string::npos) << refused.err;
  ExpectUnsigned();
  ASSERT_TRUE(Unmount());
}

TEST_F(SignedPublishTest, AResignNeedsTheDirectoryUnfrozenFirst) {
  ASSERT_TRUE(Sign(T("pub.key")).ok());
  auto manifest = ReadFile(signed_backing_ + "/.mvmanifest");
  ASSERT_TRUE(manifest.has_value());
  // Otherwise any key could take over a directory only its signer may open again.
  EXPECT_TRUE(FailedCleanly(Sign(T("other.key"), {"--resign"}), "unfreeze"));
  EXPECT_TRUE(FailedCleanly(Sign(T("pub.key"), {"--resign"}), "still frozen"));
  EXPECT_TRUE(FileHolds(signed_backing_ + "/.mvmanifest", *manifest));
  // Both a refused and a granted unfreeze are on record.
  EXPECT_TRUE(FailedCleanly(RunCli({"unfreeze", M("m"), "--signing-key", T("other.key"),
                                    "--audit-log", T("publisher.audit")}),
                            "another key"));
  CliResult unfreeze = RunCli(
      {"unfreeze", M("m"), "--signing-key", T("pub.key"), "--audit-log", T("publisher.audit")});
  ASSERT_TRUE(unfreeze.ok()) << unfreeze.Describe();
  auto audit = ReadFile(T("publisher.audit"));
  ASSERT_TRUE(audit.has_value());
  EXPECT_NE(audit->find("\"event\":\"unfreeze_refused\""), std::string::npos) << *audit;
  EXPECT_NE(audit->find("\"event\":\"unfrozen\""), std::string::npos) << *audit;
  EXPECT_TRUE(FailedCleanly(Sign(T("pub.key")), "--resign"));
  CliResult resign = Sign(T("other.key"), {"--resign"});
  ASSERT_TRUE(resign.ok()) << resign.Describe();
  EXPECT_NE(resign.out.find("version 2"), std::string::npos) << resign.out;
  ASSERT_TRUE(Unmount());
}

TEST_F(SignedPublishTest, TheDaemonRecordsARefusedUnfreeze) {
  ASSERT_TRUE(Unmount());
  ASSERT_TRUE(Mount({"--audit-log", T("daemon.audit")}));
  ASSERT_TRUE(Sign(T("pub.key")).ok());
  // Whoever tries need not pass --audit-log; the daemon's own log has the refusal.
  EXPECT_TRUE(
      FailedCleanly(RunCli({"unfreeze", M("m"), "--signing-key", T("other.key")}), "another key"));
  auto audit = ReadFile(T("daemon.audit"));
  ASSERT_TRUE(audit.has_value());
  EXPECT_NE(audit->find("\"check\":\"unfreeze\""), std::string::npos) << *audit;
  ASSERT_TRUE(Unmount());
  CliResult check = RunCli({"audit", "verify", T("daemon.audit"), "--backing", backing()});
  EXPECT_TRUE(check.ok()) << check.Describe();
}

TEST_F(SignedPublishTest, SigningOnAReadOnlyMountNamesTheMount) {
  ASSERT_EQ(::mkdir(T("ro").c_str(), 0700), 0);
  ASSERT_TRUE(Mount(backing(), T("ro"), keyfile(), {"--read-only"}));
  EXPECT_TRUE(
      FailedCleanly(RunCli({"sign", T("ro/m"), "--signing-key", T("pub.key")}), "read-only mount"));
  EXPECT_TRUE(FailedCleanly(RunCli({"unfreeze", T("ro/m"), "--signing-key", T("pub.key")}),
                            "read-only mount"));
  ASSERT_TRUE(Unmount(T("ro")));
  ExpectUnsigned();
  ASSERT_TRUE(Unmount());
}

TEST_F(SignedPublishTest, AFailureAfterTheFreezeLeavesTheDirectoryAsItWas) {
  // The manifest cannot be written: its temporary name is taken by a directory.
  ASSERT_EQ(::mkdir((signed_backing_ + "/.mvmanifest.tmp").c_str(), 0755), 0);
  EXPECT_TRUE(FailedCleanly(Sign(T("pub.key")), ".mvmanifest"));
  ExpectUnsigned();
  ASSERT_EQ(::rmdir((signed_backing_ + "/.mvmanifest.tmp").c_str()), 0);
  // A re-sign that fails puts back the unfrozen state it started from.
  ASSERT_TRUE(Sign(T("pub.key")).ok());
  ASSERT_TRUE(RunCli({"unfreeze", M("m"), "--signing-key", T("pub.key")}).ok());
  ASSERT_EQ(::mkdir((signed_backing_ + "/.mvmanifest.tmp").c_str(), 0755), 0);
  EXPECT_TRUE(FailedCleanly(Sign(T("pub.key"), {"--resign"}), ".mvmanifest"));
  EXPECT_EQ(WriteFile(M("m/config.json"), "{\"v\": 2}"), 0);
  ASSERT_TRUE(Unmount());
}

TEST_F(SignedPublishTest, ASignThatNeverFinishedIsReportedAndCanBeCompletedOrUndone) {
  // What a sign killed while hashing leaves: the freeze it asked the daemon for.
  ASSERT_EQ(::setxattr(M("m").c_str(), "user.modelvault.freeze", "1", 1, 0), 0);
  EXPECT_EQ(WriteFile(M("m/config.json"), "x"), EROFS);
  CliResult verify = RunCli({"verify", backing(), "--trust", T("pub.pem")});
  EXPECT_TRUE(FailedCleanly(verify, "frozen but not signed")) << verify.Describe();
  CliResult unfreeze = RunCli({"unfreeze", M("m"), "--signing-key", T("pub.key")});
  ASSERT_TRUE(unfreeze.ok()) << unfreeze.Describe();
  EXPECT_NE(unfreeze.out.find("never signed"), std::string::npos) << unfreeze.out;
  EXPECT_EQ(WriteFile(M("m/config.json"), "{}"), 0);
  // Or signing again completes it.
  ASSERT_EQ(::setxattr(M("m").c_str(), "user.modelvault.freeze", "1", 1, 0), 0);
  CliResult sign = Sign(T("pub.key"));
  ASSERT_TRUE(sign.ok()) << sign.Describe();
  ASSERT_TRUE(Unmount());
  verify = RunCli({"verify", backing(), "--trust", T("pub.pem")});
  EXPECT_TRUE(verify.ok()) << verify.Describe();
}

}  // namespace
}  // namespace modelvault::fs::test
