// Unlocking real mounts through key hardware stand-ins, end to end through the CLI: a
// store sealed to a TPM (swtpm) mounts with no key on the command line, a store wrapped by
// a PKCS#11 token (SoftHSM2) mounts with the token's PIN, and each failure says why and
// leaves the backing directory as it was.
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"
#include "tests/keyprovider/pkcs11/softhsm_fixture.h"
#include "tests/keyprovider/tpm2/swtpm_fixture.h"

namespace modelvault::fs::test {
namespace {

using keyprovider::test::Swtpm;
using modelvault::test::SoftHsmFixture;

class HardwareUnlockTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = false}; }

  void WriteSecret(const std::string& name, const std::string& text) {
    std::ofstream(T(name)) << text << "\n";
  }
  CliResult Run(std::vector<std::string> args) { return RunCli(args, std::chrono::seconds(60)); }
  void WriteModel() {
    ASSERT_TRUE(Mount());
    ASSERT_EQ(WriteFile(M("model.bin"), "weights"), 0);
    ASSERT_TRUE(Unmount());
  }
  // Mounts with `unlock`, checks the model and which slot type opened, unmounts.
  void ExpectMountsWith(const std::vector<std::string>& unlock, const std::string& opened) {
    std::vector<std::string> args{"mount", backing(), mountpoint()};
    args.insert(args.end(), unlock.begin(), unlock.end());
    CliResult mount = Run(args);
    ASSERT_TRUE(mount.ok()) << mount.Describe();
    EXPECT_NE(mount.out.find(opened), std::string::npos) << mount.out;
    EXPECT_TRUE(FileHolds(M("model.bin"), "weights"));
    ASSERT_TRUE(Run({"umount", mountpoint()}).ok());
  }
  CliResult MountFails(const std::vector<std::string>& unlock) {
    std::vector<std::string> args{"mount", backing(), mountpoint()};
    args.insert(args.end(), unlock.begin(), unlock.end());
    CliResult r = Run(args);
    if (IsMountPoint(mountpoint())) Run({"umount", mountpoint()});
    return r;
  }
};

class TpmUnlockTest : public HardwareUnlockTest {
 protected:
  void SetUp() override {
    HardwareUnlockTest::SetUp();
    auto tpm = Swtpm::Start();
    ASSERT_TRUE(tpm.ok()) << tpm.status().ToString();
    tpm_ = std::move(tpm).value();
  }
  void TearDown() override {
    HardwareUnlockTest::TearDown();
    tpm_.reset();
  }
  CliResult AddTpmSlot(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"keyslot", "add",    backing(),     "--keyfile",
                                  keyfile(), "--tpm2", "--tpm2-tcti", tpm_->Tcti()};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args);
  }
  std::unique_ptr<Swtpm> tpm_;
};

TEST_F(TpmUnlockTest, MountsWithNoKeyOnTheCommandLine) {
  WriteModel();
  CliResult add = AddTpmSlot({"--tpm2-pcrs", "0,7"});
  ASSERT_TRUE(add.ok()) << add.Describe();
  CliResult list = Run({"keyslot", "list", backing()});
  EXPECT_NE(list.out.find("pcrs 0,7"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(tpm_->Tcti()), std::string::npos) << list.out;
  ExpectMountsWith({}, "keyslot 1, tpm2");
  ExpectMountsWith({"--tpm2", "--tpm2-tcti", tpm_->Tcti()}, "keyslot 1, tpm2");
}

TEST_F(TpmUnlockTest, AChangedPcrIsRefusedByName) {
  WriteModel();
  ASSERT_TRUE(AddTpmSlot({"--tpm2-pcrs", "7,16"}).ok());
  ASSERT_TRUE(tpm_->ExtendPcr(16).ok());
  const std::string before = SnapshotTree(backing());
  EXPECT_TRUE(FailedCleanly(MountFails({}), "PCR 16"));
  EXPECT_EQ(SnapshotTree(backing()), before);
  ExpectMountsWith({"--keyfile", keyfile()}, "keyslot 0, keyfile");
}

TEST_F(TpmUnlockTest, APinSlotNeedsTheRightPin) {
  WriteModel();
  WriteSecret("pin", "2468");
  WriteSecret("wrong-pin", "1357");
  ASSERT_TRUE(AddTpmSlot({"--tpm2-pin-file", T("pin")}).ok());
  EXPECT_TRUE(FailedCleanly(MountFails({}), "needs a PIN"));
  EXPECT_TRUE(FailedCleanly(MountFails({"--tpm2-pin-file", T("wrong-pin")}), "PIN"));
  ExpectMountsWith({"--tpm2-pin-file", T("pin")}, "keyslot 1, tpm2");
}

TEST_F(TpmUnlockTest, AnotherTpmIsRefusedAndTheRecoveryKeyStillWorks) {
  ASSERT_TRUE(RemoveTree(backing()));
  CliResult init = Run({"init", backing(), "--tpm2", "--tpm2-tcti", tpm_->Tcti(),
                        "--recovery-key-out", T("recovery.txt")});
  ASSERT_TRUE(init.ok()) << init.Describe();
  ASSERT_TRUE(Mount(backing(), mountpoint(), ""));
  ASSERT_EQ(WriteFile(M("model.bin"), "weights"), 0);
  ASSERT_TRUE(Unmount());
  ExpectMountsWith({}, "keyslot 0, tpm2");
  // The host's TPM is replaced: the slot cannot be unsealed anywhere else.
  auto other = Swtpm::Start();
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_TRUE(FailedCleanly(MountFails({"--tpm2-tcti", (*other)->Tcti()}), "another TPM"));
  tpm_.reset();
  EXPECT_TRUE(FailedCleanly(MountFails({}), "not reachable"));
  CliResult mount = Run({"mount", backing(), mountpoint(), "--recovery-key", T("recovery.txt")});
  ASSERT_TRUE(mount.ok()) << mount.Describe();
  EXPECT_NE(mount.out.find("keyslot 1, recovery"), std::string::npos) << mount.out;
  ASSERT_TRUE(Run({"umount", mountpoint()}).ok());
  // Re-enrol on the new TPM with the recovery key (slot 2), drop the dead slot.
  ASSERT_TRUE(Run({"keyslot", "add", backing(), "--recovery-key", T("recovery.txt"), "--tpm2",
                   "--tpm2-tcti", (*other)->Tcti()})
                  .ok());
  ASSERT_TRUE(Run({"keyslot", "remove", backing(), "0", "--recovery-key", T("recovery.txt")}).ok());
  CliResult again = Run({"mount", backing(), mountpoint()});
  ASSERT_TRUE(again.ok()) << again.Describe();
  EXPECT_NE(again.out.find("keyslot 2, tpm2"), std::string::npos) << again.out;
  EXPECT_TRUE(FileHolds(M("model.bin"), "weights"));
  ASSERT_TRUE(Run({"umount", mountpoint()}).ok());
}

class Pkcs11UnlockTest : public HardwareUnlockTest {
 protected:
  void SetUp() override {
    HardwareUnlockTest::SetUp();
    auto hsm = SoftHsmFixture::New();
    ASSERT_TRUE(hsm.ok()) << hsm.status().ToString();
    hsm_ = std::move(hsm).value();
    WriteSecret("pin", hsm_->user_pin());
    WriteSecret("wrong-pin", "00000000");
  }
  void TearDown() override {
    HardwareUnlockTest::TearDown();
    hsm_.reset();
  }
  std::string Uri(const std::string& key_label) const {
    return "pkcs11:token=" + hsm_->token_label() + ";object=" + key_label;
  }
  std::vector<std::string> Module() const {
    return {"--pkcs11-module", SoftHsmFixture::ModulePath()};
  }
  std::unique_ptr<SoftHsmFixture> hsm_;
};

TEST_F(Pkcs11UnlockTest, AnAesKeyInTheTokenUnlocksWithThePin) {
  WriteModel();
  CliResult add = Run({"keyslot", "add", backing(), "--keyfile", keyfile(), "--pkcs11",
                       Uri(hsm_->aes_key_label()), "--pin-file", T("pin"), "--pkcs11-module",
                       SoftHsmFixture::ModulePath()});
  ASSERT_TRUE(add.ok()) << add.Describe();
  CliResult list = Run({"keyslot", "list", backing()});
  EXPECT_NE(list.out.find(Uri(hsm_->aes_key_label())), std::string::npos) << list.out;
  // The URI comes from the slot; only the PIN and the module are given.
  std::vector<std::string> unlock = Module();
  unlock.insert(unlock.end(), {"--pin-file", T("pin")});
  ExpectMountsWith(unlock, "keyslot 1, pkcs11");
  const std::string before = SnapshotTree(backing());
  std::vector<std::string> wrong = Module();
  wrong.insert(wrong.end(), {"--pin-file", T("wrong-pin")});
  EXPECT_TRUE(FailedCleanly(MountFails(wrong), "wrong PIN"));
  EXPECT_EQ(SnapshotTree(backing()), before);
}

TEST_F(Pkcs11UnlockTest, TheTokenUnlocksToAddATpmSlotAndAWrongPinIsReportedOnTheWay) {
  WriteModel();
  auto tpm = Swtpm::Start();
  ASSERT_TRUE(tpm.ok()) << tpm.status().ToString();
  ASSERT_TRUE(Run({"keyslot", "add", backing(), "--keyfile", keyfile(), "--pkcs11",
                   Uri(hsm_->aes_key_label()), "--pin-file", T("pin"), "--pkcs11-module",
                   SoftHsmFixture::ModulePath()})
                  .ok());
  // As in docs/KEYS.md: the token opens the store, the new slot is the host's TPM.
  CliResult add = Run({"keyslot", "add", backing(), "--unlock-pkcs11", Uri(hsm_->aes_key_label()),
                       "--unlock-pin-file", T("pin"), "--pkcs11-module",
                       SoftHsmFixture::ModulePath(), "--tpm2", "--tpm2-tcti", (*tpm)->Tcti()});
  ASSERT_TRUE(add.ok()) << add.Describe();
  EXPECT_NE(add.out.find("Added keyslot 2 (tpm2)"), std::string::npos) << add.out;
  // A config that tries the token first with a wrong PIN still mounts through the TPM, and
  // says that a PIN was refused.
  std::ofstream(T("mount.yaml")) << "unlock:\n  order: [pkcs11, tpm2]\n  pkcs11:\n    uri: \""
                                 << Uri(hsm_->aes_key_label())
                                 << "\"\n    pin_file: " << T("wrong-pin")
                                 << "\n    module: " << SoftHsmFixture::ModulePath() << "\n";
  CliResult mount = Run({"mount", backing(), mountpoint(), "--config", T("mount.yaml")});
  ASSERT_TRUE(mount.ok()) << mount.Describe();
  EXPECT_NE(mount.out.find("keyslot 2, tpm2"), std::string::npos) << mount.out;
  EXPECT_NE(mount.err.find("warning: opened keyslot 2 after"), std::string::npos) << mount.err;
  EXPECT_NE(mount.err.find("wrong PIN"), std::string::npos) << mount.err;
  ASSERT_TRUE(Run({"umount", mountpoint()}).ok());
}

TEST_F(Pkcs11UnlockTest, AnRsaSlotIsEnrolledWithoutThePinAndUnlockedWithIt) {
  WriteModel();
  CliResult add =
      Run({"keyslot", "add", backing(), "--keyfile", keyfile(), "--pkcs11",
           Uri(hsm_->rsa_key_label()), "--pkcs11-module", SoftHsmFixture::ModulePath()});
  ASSERT_TRUE(add.ok()) << add.Describe();
  std::vector<std::string> no_pin = Module();
  no_pin.insert(no_pin.end(), {"--pkcs11", Uri(hsm_->rsa_key_label())});
  EXPECT_TRUE(FailedCleanly(MountFails(no_pin), "PIN"));
  std::vector<std::string> unlock = no_pin;
  unlock.insert(unlock.end(), {"--pin-file", T("pin")});
  ExpectMountsWith(unlock, "keyslot 1, pkcs11");
}

TEST_F(Pkcs11UnlockTest, TheConfigNamesTokenPinAndModule) {
  WriteModel();
  ASSERT_TRUE(Run({"keyslot", "add", backing(), "--keyfile", keyfile(), "--pkcs11",
                   Uri(hsm_->aes_key_label()), "--pin-file", T("pin"), "--pkcs11-module",
                   SoftHsmFixture::ModulePath()})
                  .ok());
  std::ofstream(T("mount.yaml")) << "backing: " << backing() << "\nmountpoint: " << mountpoint()
                                 << "\nunlock:\n  pkcs11:\n    uri: \""
                                 << Uri(hsm_->aes_key_label()) << "\"\n    pin_file: " << T("pin")
                                 << "\n    module: " << SoftHsmFixture::ModulePath() << "\n";
  CliResult mount = Run({"mount", "--config", T("mount.yaml")});
  ASSERT_TRUE(mount.ok()) << mount.Describe();
  EXPECT_NE(mount.out.find("keyslot 1, pkcs11"), std::string::npos) << mount.out;
  EXPECT_TRUE(FileHolds(M("model.bin"), "weights"));
  ASSERT_TRUE(Run({"umount", mountpoint()}).ok());
  EXPECT_TRUE(FailedCleanly(MountFails({"--pkcs11", "pkcs11:token=no-such-token", "--pin-file",
                                        T("pin"), "--pkcs11-module", SoftHsmFixture::ModulePath()}),
                            "no-such-token"));
}

}  // namespace
}  // namespace modelvault::fs::test
