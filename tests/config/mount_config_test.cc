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
fuse_options: [allow_other, "max_read=1048576"]
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
  EXPECT_EQ(config->fuse_options, (std::vector<std::string>{"allow_other", "max_read=1048576"}));
  EXPECT_EQ(config->threads, 8);
  EXPECT_EQ(config->log_level, "warning");
  EXPECT_EQ(config->keyfile, "/etc/modelvault/models.key");
  EXPECT_EQ(config->passphrase_file, "/run/credentials/models.pass");
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
    EXPECT_EQ(config->keyfile, "");
  }
}

TEST_F(MountConfigTest, UnknownKeyNamesFileLineAndTheKnownKeys) {
  EXPECT_EQ(Error("backing: /b\nmountpoint: /m\nreadonly: true\n"),
            path_ +
                ": line 3: unknown key \"readonly\" (known: backing, mountpoint, read_only, "
                "foreground, fuse_options, threads, log_level, unlock)");
  EXPECT_EQ(
      Error("unlock:\n  keyfile: /k\n  pin: 1234\n"),
      path_ + ": line 3: unknown key \"pin\" in \"unlock\" (known: keyfile, passphrase_file)");
}

TEST_F(MountConfigTest, WrongTypesNameFileLineAndKey) {
  EXPECT_EQ(Error("backing: /b\nread_only: maybe\n"),
            path_ + ": line 2: \"read_only\" must be true or false");
  EXPECT_EQ(Error("foreground: [true]\n"),
            path_ + ": line 1: \"foreground\" must be true or false");
  EXPECT_EQ(Error("\n\nbacking: [a, b]\n"), path_ + ": line 3: \"backing\" must be a string");
  EXPECT_EQ(Error("mountpoint:\n"), path_ + ": line 1: \"mountpoint\" must be a string");
  EXPECT_EQ(Error("fuse_options: allow_other\n"),
            path_ + ": line 1: \"fuse_options\" must be a list of strings");
  EXPECT_EQ(Error("fuse_options:\n  - allow_other\n  - {a: b}\n"),
            path_ + ": line 3: \"fuse_options\" must be a list of strings");
  EXPECT_EQ(Error("unlock: /k\n"),
            path_ + ": line 1: \"unlock\" must be a mapping with keys keyfile, passphrase_file");
  EXPECT_EQ(Error("unlock:\n  keyfile: {}\n"), path_ + ": line 2: \"keyfile\" must be a string");
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
  EXPECT_NE(config.status().message().find(dir_ + "/absent.yaml"), std::string::npos);
}

}  // namespace
}  // namespace modelvault::config
