// Signed directories end to end: a publisher signs a directory of a mounted store, the
// directory becomes immutable, a reader that trusts the publisher reads it, and every
// attack on the backing files is caught both by a mount (EIO or a refused open, with an
// audit record) and by `modelvault verify` on the backing directory, or a copy of it.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"
#include "tests/fs/signed_mount_fixture.h"

namespace modelvault::fs::test {
namespace {

class SignedDirTest : public SignedMountTest {
 protected:
  void SetUp() override {
    SignedMountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(::mkdir(M("models").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(M("models/m1").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(M("models/m1/sub").c_str(), 0755), 0);
    big_ = PatternBytes(1, 5 * 4096 + 1000);
    ASSERT_EQ(WriteFile(M("models/m1/weights.bin"), big_), 0);
    ASSERT_EQ(WriteFile(M("models/m1/config.json"), "{\"layers\": 32}"), 0);
    ASSERT_EQ(WriteFile(M("models/m1/sub/tokenizer.bin"), PatternBytes(2, 9000)), 0);
    ASSERT_EQ(WriteFile(M("models/m1/empty"), ""), 0);
    ASSERT_EQ(::symlink("weights.bin", M("models/m1/latest").c_str()), 0);
    ASSERT_EQ(WriteFile(M("unsigned.txt"), "not signed"), 0);
    CliResult sign = Sign(T("pub.key"));
    ASSERT_TRUE(sign.ok()) << sign.Describe();
    signed_backing_ = BackingOf(M("models/m1"));
    weights_ = signed_backing_ + "/" + BackingName(M("models/m1/weights.bin"));
    config_ = signed_backing_ + "/" + BackingName(M("models/m1/config.json"));
    ASSERT_TRUE(Unmount());
  }

  CliResult Sign(const std::string& key, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"sign", M("models/m1"), "--signing-key", key};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCli(args);
  }
  std::string BackingName(const std::string& path) {
    std::string full = BackingOf(path);
    return full.substr(full.rfind('/') + 1);
  }
  ::testing::AssertionResult MountReader(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--read-only", "--trust", T("pub.pem"), "--audit-log",
                                  T("reader.audit")};
    args.insert(args.end(), extra.begin(), extra.end());
    return Mount(backing(), mountpoint(), keyfile(), args);
  }
  // errno of reading the whole file through the mount (0 if it read back `expected`).
  int ReadErrno(const std::string& rel, const std::string& expected) {
    int err = 0;
    auto got = ReadFile(M(rel), &err);
    if (!got) return err;
    return *got == expected ? 0 : -1;
  }
  CliResult Verify(const std::string& store, const std::string& key) {
    return RunCli({"verify", store, "--trust", key});
  }
  bool AuditHas(const std::string& text) {
    auto log = ReadFile(T("reader.audit"));
    return log && log->find(text) != std::string::npos;
  }
  // Runs `attack` on the backing files, then expects the reader and `verify` to catch it.
  void ExpectCaught(const std::string& name, const std::function<void()>& attack) {
    SCOPED_TRACE(name);
    attack();
    EXPECT_TRUE(FailedCleanly(Verify(backing(), T("pub.pem")))) << name;
    ASSERT_TRUE(MountReader());
    EXPECT_NE(ReadErrno("models/m1/weights.bin", big_), 0);
    EXPECT_TRUE(AuditHas("signature_failed")) << name;
    ASSERT_TRUE(Unmount());
  }

  std::string big_, signed_backing_, weights_, config_;
};

TEST_F(SignedDirTest, ATrustingReaderReadsEverythingAndVerifyPasses) {
  CliResult verify = Verify(backing(), T("pub.pem"));
  EXPECT_TRUE(verify.ok()) << verify.Describe();
  ASSERT_TRUE(MountReader({"--require-signatures"}));
  EXPECT_EQ(ReadErrno("models/m1/weights.bin", big_), 0);
  EXPECT_EQ(ReadErrno("models/m1/config.json", "{\"layers\": 32}"), 0);
  EXPECT_EQ(ReadErrno("models/m1/sub/tokenizer.bin", PatternBytes(2, 9000)), 0);
  EXPECT_EQ(ReadErrno("models/m1/latest", big_), 0);
  // Outside a signed directory nothing opens when signatures are required.
  EXPECT_EQ(ReadErrno("unsigned.txt", "not signed"), EACCES);
  EXPECT_TRUE(AuditHas("\"check\":\"unsigned\""));  // the refusal is on record
  for (const char* check : {"signature", "rollback", "listing", "file", "block"}) {
    EXPECT_FALSE(AuditHas("\"check\":\"" + std::string(check) + "\"")) << check;
  }
}

TEST_F(SignedDirTest, ASignedDirectoryCannotChangeThroughAnyMount) {
  ASSERT_TRUE(Mount());
  EXPECT_EQ(WriteFile(M("models/m1/weights.bin"), "changed"), EROFS);
  EXPECT_EQ(WriteFile(M("models/m1/new.bin"), "planted"), EROFS);
  EXPECT_EQ(WriteFile(M("models/m1/sub/new.bin"), "planted"), EROFS);
  EXPECT_NE(::rename(M("models/m1/config.json").c_str(), M("models/m1/c.json").c_str()), 0);
  EXPECT_EQ(errno, EROFS);
  EXPECT_NE(::rename(M("models/m1/config.json").c_str(), M("moved.json").c_str()), 0);
  EXPECT_NE(::unlink(M("models/m1/config.json").c_str()), 0);
  EXPECT_EQ(errno, EROFS);
  EXPECT_NE(::rename(M("models/m1").c_str(), M("m1-moved").c_str()), 0);
  EXPECT_EQ(errno, EROFS);
  EXPECT_NE(::chmod(M("models/m1/config.json").c_str(), 0600), 0);
  EXPECT_NE(::truncate(M("models/m1/weights.bin").c_str(), 4096), 0);
  EXPECT_NE(::mkdir(M("models/m1/sub/d").c_str(), 0755), 0);
  // Signing again without unfreezing is refused; the rest of the store is writable.
  EXPECT_TRUE(FailedCleanly(Sign(T("pub.key")), "signed already"));
  EXPECT_EQ(WriteFile(M("models/other.txt"), "fine"), 0);
  ASSERT_TRUE(Unmount());
}

TEST_F(SignedDirTest, OnlyTheSigningKeyUnfreezesAndAResignCountsTheVersionUp) {
  ASSERT_TRUE(Mount());
  EXPECT_TRUE(FailedCleanly(RunCli({"unfreeze", M("models/m1"), "--signing-key", T("other.key")})));
  EXPECT_EQ(WriteFile(M("models/m1/config.json"), "x"), EROFS);
  CliResult unfreeze = RunCli({"unfreeze", M("models/m1"), "--signing-key", T("pub.key")});
  ASSERT_TRUE(unfreeze.ok()) << unfreeze.Describe();
  ASSERT_EQ(WriteFile(M("models/m1/config.json"), "{\"layers\": 40}"), 0);
  CliResult resign = Sign(T("pub.key"), {"--resign"});
  ASSERT_TRUE(resign.ok()) << resign.Describe();
  EXPECT_NE(resign.out.find("version 2"), std::string::npos) << resign.out;
  ASSERT_TRUE(Unmount());
  EXPECT_TRUE(Verify(backing(), T("pub.pem")).ok());
  ASSERT_TRUE(MountReader());
  EXPECT_EQ(ReadErrno("models/m1/config.json", "{\"layers\": 40}"), 0);
  ASSERT_TRUE(Unmount());
}

TEST_F(SignedDirTest, SigningWaitsForWritersAndNeverNests) {
  ASSERT_TRUE(Mount());
  ASSERT_EQ(::mkdir(M("models/m2").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile(M("models/m2/w.bin"), "draft"), 0);
  // A write through a descriptor opened before signing would land in the kernel's cache
  // after the freeze; signing refuses while one is open.
  int fd = ::open(M("models/m2/w.bin").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  CliResult busy = RunCli({"sign", M("models/m2"), "--signing-key", T("pub.key")});
  EXPECT_TRUE(FailedCleanly(busy, "open for writing"));
  EXPECT_NE(busy.err.find(M("models/m2/w.bin") + " (pid "), std::string::npos) << busy.err;
  ASSERT_EQ(::pwrite(fd, "final", 5, 0), 5);
  ::close(fd);
  CliResult sign = RunCli({"sign", M("models/m2"), "--signing-key", T("pub.key")});
  EXPECT_TRUE(sign.ok()) << sign.Describe();
  // A directory inside a signed one is covered by it, and cannot be signed (or unfrozen)
  // on its own, with any key.
  EXPECT_TRUE(FailedCleanly(RunCli({"sign", M("models/m1/sub"), "--signing-key", T("other.key")}),
                            "inside a signed directory"));
  EXPECT_TRUE(FailedCleanly(RunCli({"unfreeze", M("models/m1/sub"), "--signing-key", T("pub.key")}),
                            "not frozen"));
  EXPECT_TRUE(FailedCleanly(RunCli({"unfreeze", M("models/m1"), "--signing-key", T("other.key")}),
                            "sha256:"));
  ASSERT_TRUE(Unmount());
  EXPECT_TRUE(Verify(backing(), T("pub.pem")).ok());
}

TEST_F(SignedDirTest, AReaderPicksUpANewVersionWithoutRemounting) {
  ASSERT_TRUE(MountReader());
  const std::string reader = mountpoint();
  EXPECT_EQ(ReadErrno("models/m1/config.json", "{\"layers\": 32}"), 0);
  ASSERT_EQ(::mkdir(T("writer").c_str(), 0700), 0);
  ASSERT_TRUE(Mount(backing(), T("writer"), keyfile()));
  ASSERT_TRUE(RunCli({"unfreeze", T("writer/models/m1"), "--signing-key", T("pub.key")}).ok());
  ASSERT_EQ(WriteFile(T("writer/models/m1/added.bin"), "new in version 2"), 0);
  ASSERT_TRUE(
      RunCli({"sign", T("writer/models/m1"), "--signing-key", T("pub.key"), "--resign"}).ok());
  ASSERT_TRUE(Unmount(T("writer")));
  EXPECT_EQ(ReadErrno("models/m1/added.bin", "new in version 2"), 0);
  ASSERT_TRUE(Unmount(reader));
}

TEST_F(SignedDirTest, AReaderThatSawADirectoryUnsignedPicksUpItsFirstSigning) {
  // A read-only mount keeps names for 10 s; one second makes the wait short.
  ASSERT_EQ(WriteFile(T("cache.yaml"), "cache:\n  entry_timeout: 1\n  attr_timeout: 1\n"), 0);
  ASSERT_TRUE(MountReader({"--require-signatures", "--config", T("cache.yaml")}));
  const std::string reader = mountpoint();
  ASSERT_EQ(::mkdir(T("writer").c_str(), 0700), 0);
  ASSERT_TRUE(Mount(backing(), T("writer"), keyfile()));
  ASSERT_EQ(::mkdir(T("writer/models/m4").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile(T("writer/models/m4/w.bin"), "published"), 0);
  EXPECT_EQ(ReadErrno("models/m4/w.bin", "published"), EACCES);  // not signed yet
  ASSERT_TRUE(RunCli({"sign", T("writer/models/m4"), "--signing-key", T("pub.key")}).ok());
  ASSERT_TRUE(Unmount(T("writer")));
  // Once the kernel's entry for the directory expires it is looked up again.
  ::usleep(1500 * 1000);
  EXPECT_EQ(ReadErrno("models/m4/w.bin", "published"), 0);
  ASSERT_TRUE(Unmount(reader));
}

TEST_F(SignedDirTest, ARemovedManifestIsCaughtByAHostThatSawIt) {
  ASSERT_TRUE(MountReader());
  EXPECT_EQ(ReadErrno("models/m1/weights.bin", big_), 0);  // this host accepts version 1
  ASSERT_TRUE(Unmount());
  ExpectCaught("manifest removed", [&] {
    ASSERT_EQ(::unlink((signed_backing_ + "/.mvmanifest").c_str()), 0);
    ASSERT_EQ(::unlink((signed_backing_ + "/.mvfrozen").c_str()), 0);
    // `verify` finds no signed directory left, and says so by failing.
  });
}

TEST_F(SignedDirTest, SwappedSignedDirectoriesAreCaught) {
  ASSERT_TRUE(Mount());
  ASSERT_EQ(::mkdir(M("models/m3").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile(M("models/m3/weights.bin"), "other model"), 0);
  ASSERT_TRUE(RunCli({"sign", M("models/m3"), "--signing-key", T("pub.key")}).ok());
  const std::string m3 = BackingOf(M("models/m3"));
  ASSERT_TRUE(Unmount());
  ExpectCaught("swap directories", [&] {
    ASSERT_EQ(::rename(signed_backing_.c_str(), T("tmpdir").c_str()), 0);
    ASSERT_EQ(::rename(m3.c_str(), signed_backing_.c_str()), 0);
    ASSERT_EQ(::rename(T("tmpdir").c_str(), m3.c_str()), 0);
  });
}

TEST_F(SignedDirTest, AFlippedCiphertextByteIsCaught) {
  ExpectCaught("flip", [&] {
    int fd = ::open(weights_.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    char b;
    ASSERT_EQ(::pread(fd, &b, 1, 32 + 2 * (4096 + 28) + 100), 1);
    b ^= 1;
    ASSERT_EQ(::pwrite(fd, &b, 1, 32 + 2 * (4096 + 28) + 100), 1);
    ::close(fd);
  });
}

TEST_F(SignedDirTest, SwappedDeletedAddedTruncatedFilesAreCaught) {
  ExpectCaught("swap", [&] {
    ASSERT_EQ(::rename(weights_.c_str(), T("tmp").c_str()), 0);
    ASSERT_EQ(::rename(config_.c_str(), weights_.c_str()), 0);
    ASSERT_EQ(::rename(T("tmp").c_str(), config_.c_str()), 0);
  });
  ExpectCaught("swap back and delete", [&] {
    ASSERT_EQ(::rename(weights_.c_str(), T("tmp").c_str()), 0);
    ASSERT_EQ(::rename(config_.c_str(), weights_.c_str()), 0);
    ASSERT_EQ(::rename(T("tmp").c_str(), config_.c_str()), 0);
    ASSERT_EQ(::unlink(config_.c_str()), 0);
  });
}

TEST_F(SignedDirTest, AnAddedFileIsCaught) {
  ExpectCaught("add", [&] {
    auto bytes = ReadFile(config_);
    ASSERT_TRUE(bytes.has_value());
    ASSERT_EQ(WriteFile(signed_backing_ + "/AAAAAAAAAAAAAAAAAAAAAA", *bytes), 0);
  });
}

TEST_F(SignedDirTest, ATruncationAtABlockBoundaryIsCaught) {
  ExpectCaught("truncate",
               [&] { ASSERT_EQ(::truncate(weights_.c_str(), 32 + 3 * (4096 + 28)), 0); });
}

TEST_F(SignedDirTest, AnEditedOrForeignManifestIsCaught) {
  const std::string manifest = signed_backing_ + "/.mvmanifest";
  auto original = ReadFile(manifest);
  ASSERT_TRUE(original.has_value());
  ExpectCaught("edit", [&] {
    std::string edited = *original;
    size_t at = edited.find("\"version\":1");
    if (at == std::string::npos) at = edited.find("\"version\": 1");
    ASSERT_NE(at, std::string::npos) << edited.substr(0, 300);
    edited.replace(edited.find('1', at), 1, "7");
    ASSERT_EQ(WriteFile(manifest, edited), 0);
  });
  ASSERT_EQ(WriteFile(manifest, *original), 0);
  // Re-signed by someone whose key the reader does not trust.
  ASSERT_TRUE(Mount());
  ASSERT_TRUE(RunCli({"unfreeze", M("models/m1"), "--signing-key", T("pub.key")}).ok());
  ASSERT_TRUE(Sign(T("other.key"), {"--resign"}).ok());
  ASSERT_TRUE(Unmount());
  ExpectCaught("untrusted", [] {});
  EXPECT_TRUE(Verify(backing(), T("other.pem")).ok());
}

TEST_F(SignedDirTest, AnOlderManifestIsRefusedAfterANewerOneWasSeen) {
  // Keep version 1 as an attacker would: the whole backing tree of the directory.
  ASSERT_EQ(RunCommand({"cp", "-a", signed_backing_, T("v1")}).exit_code, 0);
  ASSERT_TRUE(Mount());
  ASSERT_TRUE(RunCli({"unfreeze", M("models/m1"), "--signing-key", T("pub.key")}).ok());
  ASSERT_EQ(WriteFile(M("models/m1/config.json"), "{\"layers\": 40}"), 0);
  ASSERT_TRUE(Sign(T("pub.key"), {"--resign"}).ok());
  ASSERT_TRUE(Unmount());
  ASSERT_TRUE(MountReader());  // this host sees version 2
  EXPECT_EQ(ReadErrno("models/m1/config.json", "{\"layers\": 40}"), 0);
  ASSERT_TRUE(Unmount());
  ExpectCaught("rollback", [&] {
    ASSERT_EQ(RunCommand({"rm", "-rf", signed_backing_}).exit_code, 0);
    ASSERT_EQ(RunCommand({"cp", "-a", T("v1"), signed_backing_}).exit_code, 0);
    // Version 1 is validly signed; what refuses it is this host's memory of version 2,
    // which `verify` consults too.
  });
}

TEST_F(SignedDirTest, VerifyAcceptsCopiesOfAMountedStoreAndRefusesTheWrongKey) {
  ASSERT_TRUE(MountReader());
  ASSERT_EQ(RunCommand({"cp", "-a", backing(), T("copy")}).exit_code, 0);
  ASSERT_EQ(RunCommand({"tar", "-C", backing(), "-cf", T("store.tar"), "."}).exit_code, 0);
  ASSERT_TRUE(Unmount());
  ASSERT_EQ(::mkdir(T("untarred").c_str(), 0700), 0);
  ASSERT_EQ(RunCommand({"tar", "-C", T("untarred"), "-xf", T("store.tar")}).exit_code, 0);
  EXPECT_TRUE(Verify(T("copy"), T("pub.pem")).ok());
  EXPECT_TRUE(Verify(T("untarred"), T("pub.pem")).ok());
  EXPECT_TRUE(FailedCleanly(Verify(T("copy"), T("other.pem"))));
}

}  // namespace
}  // namespace modelvault::fs::test
