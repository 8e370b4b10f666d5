#include "config/mount_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace modelvault::config {
namespace {

class MountConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "mv-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    path_ = dir_ + "/mount.yaml";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<MountConfig> Load(const std::string& yaml) {
    std::ofstream(path_) << yaml;
    return LoadMountConfig(path_);
  }
  // The error for `yaml`, which must fail to load.
  std::string Error(const std::string& yaml) {
    auto config = Load(yaml);
    EXPECT_FALSE(config.ok()) << yaml;
    return config.ok() ? "" : config.status().message();
  }

  std::string dir_, path_;
};

TEST_F(MountConfigTest, ReadsEveryKey) {
  auto config = Load(R"(# serving host
backing: /srv/models.enc
mountpoint: /models
read_only: true
foreground: yes
fuse_options: [auto_unmount, "max_read=1048576"]
threads: 8
log_level: warning
unlock:
  keyfile: /etc/modelvault/models.key
  passphrase_file: /run/credentials/models.pass
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->backing, "/srv/models.enc");
  EXPECT_EQ(config->mountpoint, "/models");
  EXPECT_TRUE(config->read_only);
  EXPECT_TRUE(config->foreground);
  EXPECT_EQ(config->fuse_options, (std::vector<std::string>{"auto_unmount", "max_read=1048576"}));
  EXPECT_EQ(config->threads, 8);
  EXPECT_EQ(config->log_level, "warning");
  EXPECT_EQ(config->unlock.keyfile, "/etc/modelvault/models.key");
  EXPECT_EQ(config->unlock.passphrase_file, "/run/credentials/models.pass");
}

TEST_F(MountConfigTest, AbsentKeysKeepTheirDefaults) {
  for (const char* yaml : {"", "# nothing\n", "backing: /b\n"}) {
    auto config = Load(yaml);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    EXPECT_FALSE(config->read_only);
    EXPECT_FALSE(config->foreground);
    EXPECT_TRUE(config->fuse_options.empty());
    EXPECT_EQ(config->threads, 0);
    EXPECT_EQ(config->log_level, "");
    EXPECT_FALSE(config->unlock.AnyGiven());
    EXPECT_TRUE(config->unlock.order.empty());
  }
}

TEST_F(MountConfigTest, UnknownKeyNamesFileLineAndTheKnownKeys) {
  EXPECT_EQ(Error("backing: /b\nmountpoint: /m\nreadonly: true\n"),
            path_ + ": line 3: unknown key \"readonly\" (did you mean \"read_only\"?)");
  EXPECT_EQ(Error("backing: /b\nzzz: 1\n"),
            path_ +
                ": line 2: unknown key \"zzz\" (known: backing, mountpoint, read_only, "
                "foreground, fuse_options, threads, log_level, unlock, state_file, access, audit, "
                "signatures, metrics, cache)");
  EXPECT_EQ(
      Error("unlock:\n  keyfile: /k\n  pin: 1234\n"),
      path_ +
          ": line 3: unknown key \"pin\" in \"unlock\" (known: order, keyfile, passphrase_file, "
          "recovery_key_file, tpm2, pkcs11)");
}

TEST_F(MountConfigTest, WrongTypesNameFileLineAndKey) {
  EXPECT_EQ(Error("backing: /b\nread_only: maybe\n"),
            path_ + ": line 2: \"read_only\" must be true or false");
  EXPECT_EQ(Error("foreground: [true]\n"),
            path_ + ": line 1: \"foreground\" must be true or false");
  EXPECT_EQ(Error("\n\nbacking: [a, b]\n"), path_ + ": line 3: \"backing\" must be a string");
  EXPECT_EQ(Error("mountpoint:\n"), path_ + ": line 1: \"mountpoint\" must be a string");
  EXPECT_EQ(Error("fuse_options: auto_unmount\n"),
            path_ + ": line 1: \"fuse_options\" must be a list of strings");
  EXPECT_EQ(Error("fuse_options:\n  - auto_unmount\n  - {a: b}\n"),
            path_ + ": line 3: \"fuse_options\" must be a list of strings");
  EXPECT_EQ(Error("unlock: /k\n"),
            path_ +
                ": line 1: \"unlock\" must be a mapping with keys order, keyfile, "
                "passphrase_file, recovery_key_file, tpm2, pkcs11");
  EXPECT_EQ(Error("unlock:\n  keyfile: {}\n"), path_ + ": line 2: \"keyfile\" must be a string");
}

TEST_F(MountConfigTest, ReadsHardwareUnlockSettingsAndOrder) {
  auto config = Load(R"(unlock:
  order: [pkcs11, tpm2, recovery]
  recovery_key_file: /root/recovery
  tpm2:
    tcti: "swtpm:path=/run/swtpm.sock"
    pin_file: /etc/modelvault/tpm.pin
  pkcs11:
    uri: "pkcs11:token=ops;object=kek"
    pin_file: /run/hsm.pin
    module: /usr/lib/softhsm/libsofthsm2.so
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const UnlockSettings& u = config->unlock;
  EXPECT_EQ(u.order, (std::vector<std::string>{"pkcs11", "tpm2", "recovery"}));
  EXPECT_EQ(u.recovery_key_file, "/root/recovery");
  EXPECT_TRUE(u.tpm2);
  EXPECT_EQ(u.tpm2_tcti, "swtpm:path=/run/swtpm.sock");
  EXPECT_EQ(u.tpm2_pin_file, "/etc/modelvault/tpm.pin");
  EXPECT_EQ(u.pkcs11_uri, "pkcs11:token=ops;object=kek");
  EXPECT_EQ(u.pkcs11_pin_file, "/run/hsm.pin");
  EXPECT_EQ(u.pkcs11_module, "/usr/lib/softhsm/libsofthsm2.so");
}

TEST_F(MountConfigTest, TpmMayBeSwitchedOnByFlagOrByOrder) {
  auto flag = Load("unlock:\n  tpm2: true\n");
  ASSERT_TRUE(flag.ok()) << flag.status().ToString();
  EXPECT_TRUE(flag->unlock.tpm2);
  auto order = Load("unlock:\n  order: [tpm2]\n");
  ASSERT_TRUE(order.ok()) << order.status().ToString();
  EXPECT_TRUE(order->unlock.tpm2);
  EXPECT_TRUE(order->unlock.AnyGiven());
}

TEST_F(MountConfigTest, UnlockOrderIsChecked) {
  EXPECT_EQ(Error("unlock:\n  order: [tpm2, fingerprint]\n"),
            path_ +
                ": line 2: unknown unlock method \"fingerprint\" in \"order\" (known: keyfile, "
                "passphrase, recovery, tpm2, pkcs11)");
  EXPECT_EQ(Error("unlock:\n  order:\n    - tpm2\n    - tpm2\n"),
            path_ + ": line 4: \"tpm2\" appears twice in \"order\"");
  EXPECT_EQ(Error("unlock:\n  order: [tpm2, keyfile]\n"),
            path_ + ": line 2: \"order\" lists keyfile but \"unlock\" does not say how to use it");
  EXPECT_EQ(Error("unlock:\n  pkcs11:\n    pin_file: /p\n"),
            path_ + ": line 2: \"pkcs11\" needs \"uri\"");
  EXPECT_EQ(Error("unlock:\n  tpm2:\n    pcrs: [7]\n"),
            path_ + ": line 3: unknown key \"pcrs\" in \"tpm2\" (known: tcti, pin_file)");
  EXPECT_EQ(Error("unlock:\n  tpm2: maybe\n"), path_ + ": line 2: \"tpm2\" must be true or false");
}

TEST_F(MountConfigTest, ReadsTheAccessList) {
  auto config = Load(
      "access:\n  uids: [daemon, 1001]\n  gids: [daemon]\n  executables: [/usr/bin/python3]\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->allow_uids, (std::vector<std::string>{"daemon", "1001"}));
  EXPECT_EQ(config->allow_gids, (std::vector<std::string>{"daemon"}));
  EXPECT_EQ(config->allow_executables, (std::vector<std::string>{"/usr/bin/python3"}));
  EXPECT_EQ(
      Error("access:\n  users: [a]\n"),
      path_ + ": line 2: unknown key \"users\" in \"access\" (known: uids, gids, executables)");
  EXPECT_EQ(Error("access:\n  uids: [1]\n  executables:\n    - python3\n"),
            path_ + ": line 4: \"executables\" must hold absolute paths, not \"python3\"");
  EXPECT_EQ(Error("access:\n  executables: [/bin/cat]\n"),
            path_ + ": line 1: \"access\" lists executables but no uids or gids to run them");
  EXPECT_EQ(Error("access: everyone\n"),
            path_ + ": line 1: \"access\" must be a mapping with keys uids, gids, executables");
}

TEST_F(MountConfigTest, ReadsTheAuditSettings) {
  auto config = Load("audit:\n  file: /var/log/mv.audit\n  syslog: true\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->audit_file, "/var/log/mv.audit");
  EXPECT_TRUE(config->audit_syslog);
  EXPECT_EQ(Error("audit:\n  syslog: true\n"), path_ + ": line 1: \"audit\" needs \"file\"");
  EXPECT_EQ(Error("audit:\n  file: /a\n  syslog: loud\n"),
            path_ + ": line 3: \"syslog\" must be true or false");
}

TEST_F(MountConfigTest, ReadsTheSignatureSettings) {
  auto config = Load(
      "signatures:\n  trust: [/etc/a.pem, /etc/b.pem]\n  require: true\n  allow_rollback: no\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->trust, (std::vector<std::string>{"/etc/a.pem", "/etc/b.pem"}));
  EXPECT_TRUE(config->require_signatures);
  EXPECT_FALSE(config->allow_rollback);
  EXPECT_EQ(Error("signatures:\n  require: true\n"),
            path_ + ": line 1: \"signatures\" requires signatures but trusts no key (\"trust\")");
  EXPECT_EQ(Error("signatures:\n  trust: /etc/a.pem\n"),
            path_ + ": line 2: \"trust\" must be a list of strings");
}

TEST_F(MountConfigTest, ThreadsAndLogLevelAreValidated) {
  for (const char* bad :
       {"threads: -1\n", "threads: many\n", "threads: 2.5\n", "threads: 5000\n"}) {
    EXPECT_EQ(Error(bad),
              path_ + ": line 1: \"threads\" must be an integer from 0 to 1024 (0 = default)");
  }
  EXPECT_EQ(Error("log_level: loud\n"),
            path_ + ": line 1: \"log_level\" must be one of debug, info, warning, error");
}

TEST_F(MountConfigTest, DuplicateKeysAreRefused) {
  EXPECT_EQ(Error("read_only: true\nread_only: false\n"),
            path_ + ": line 2: duplicate key \"read_only\"");
}

TEST_F(MountConfigTest, SyntaxErrorsAndOtherShapesNameTheFile) {
  std::string syntax = Error("backing: /b\nfuse_options: [a, b\n");
  EXPECT_EQ(syntax.rfind(path_ + ": line ", 0), 0u) << syntax;
  EXPECT_EQ(Error("- backing\n- mountpoint\n"),
            path_ + ": line 1: the top level must be a mapping of settings");
}

TEST_F(MountConfigTest, MissingFileIsAnErrorNamingIt) {
  auto config = LoadMountConfig(dir_ + "/absent.yaml");
  ASSERT_FALSE(config.ok());
  // Named once, as every problem is.
  EXPECT_EQ(config.status().message(), dir_ + "/absent.yaml: No such file or directory");
}

TEST_F(MountConfigTest, UsersAndGroupsMustExistAsTheMountResolvesThem) {
  EXPECT_EQ(Error("access:\n  uids: [root, nosuchuser, 4242]\n  gids:\n    - daemon\n"
                  "    - nosuchgroup\n    - 4243\n"),
            path_ + ": line 2: no user named nosuchuser\n" + path_ +
                ": line 5: no group named nosuchgroup");
}

}  // namespace
}  // namespace modelvault::config
