// `modelvault config check` and `modelvault policy check` through the built binary, on the
// shipped example files and on a real store; and cache settings from a config reaching a
// real mount.
#include <pwd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

const std::string kExample = MODELVAULT_SOURCE_DIR "/packaging/modelvault-example.yaml";
const std::string kDefaultPolicy = MODELVAULT_SOURCE_DIR "/packaging/default-policy.yaml";

class ConfigCliTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 0, .mount = false}; }

  // A config for the fixture's store, with `extra` settings after backing and mountpoint.
  std::string WriteConfig(const std::string& name, const std::string& extra) {
    std::ofstream(T(name)) << "backing: " << backing() << "\nmountpoint: " << mountpoint() << "\n"
                           << extra;
    return T(name);
  }
  std::string WritePolicy(const std::string& name, const std::string& rules) {
    std::ofstream(T(name)) << rules;
    return T(name);
  }
};

TEST_F(ConfigCliTest, TheShippedExampleConfigPassesTheCheck) {
  // The example admits the user "inference", which must exist where it is used.
  std::string example = kExample;
  if (getpwnam("inference") == nullptr) {
    CliResult r = RunCli({"config", "check", kExample});
    EXPECT_TRUE(FailedCleanly(r, "1 problem")) << r.Describe();
    EXPECT_EQ(r.out, kExample + ": line 23: no user named inference\n");
    std::stringstream text;
    text << std::ifstream(kExample).rdbuf();
    std::string yaml = text.str();
    yaml.replace(yaml.find("[inference]"), 11, "[daemon]");
    example = T("example.yaml");
    std::ofstream(example) << yaml;
  }
  CliResult r = RunCli({"config", "check", example});
  ASSERT_TRUE(r.ok()) << r.Describe() << r.out;
  EXPECT_EQ(r.out.rfind(example + ": OK\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("/srv/models.enc at /models, read-only; unlock tpm2, recovery;"),
            std::string::npos)
      << r.out;
}

TEST_F(ConfigCliTest, TheSummaryNamesTheUnlockMethodsWithoutAnOrder) {
  CliResult r = RunCli(
      {"config", "check", WriteConfig("keyfile.yaml", "unlock: {keyfile: " + keyfile() + "}\n")});
  ASSERT_TRUE(r.ok()) << r.Describe() << r.out;
  EXPECT_NE(r.out.find("; unlock keyfile;"), std::string::npos) << r.out;
  r = RunCli({"config", "check",
              WriteConfig("two.yaml", "unlock: {tpm2: true, recovery_key_file: /root/r}\n")});
  ASSERT_TRUE(r.ok()) << r.Describe() << r.out;
  EXPECT_NE(r.out.find("; unlock recovery, tpm2;"), std::string::npos) << r.out;
  r = RunCli({"config", "check", WriteConfig("none.yaml", "")});
  ASSERT_TRUE(r.ok()) << r.Describe() << r.out;
  EXPECT_NE(r.out.find("; unlock tpm2 without a PIN, then a passphrase typed at a terminal;"),
            std::string::npos)
      << r.out;
}

TEST_F(ConfigCliTest, AMissingFileIsNamedOnce) {
  CliResult r = RunCli({"config", "check", T("absent.yaml")});
  EXPECT_TRUE(FailedCleanly(r, "1 problem")) << r.Describe();
  EXPECT_EQ(r.out, T("absent.yaml") + ": No such file or directory\n");
  r = RunCli({"mount", "--config", T("absent.yaml")});
  EXPECT_TRUE(FailedCleanly(r)) << r.Describe();
  EXPECT_EQ(r.err, "modelvault: error: " + T("absent.yaml") + ": No such file or directory\n");
}

TEST_F(ConfigCliTest, AnUnknownUserInTheConfigIsReportedAtItsLine) {
  std::string config = WriteConfig(
      "store.yaml", "unlock: {keyfile: " + keyfile() + "}\naccess:\n  uids: [nosuchuser]\n");
  CliResult r = RunCli({"config", "check", config});
  EXPECT_TRUE(FailedCleanly(r, "1 problem")) << r.Describe();
  EXPECT_EQ(r.out, config + ": line 5: no user named nosuchuser\n");
  // mount refuses the file for the same reason, in the same words.
  r = RunCli({"mount", "--config", config});
  EXPECT_TRUE(FailedCleanly(r)) << r.Describe();
  EXPECT_EQ(r.err, "modelvault: error: " + config + ": line 5: no user named nosuchuser\n");
}

TEST_F(ConfigCliTest, ConfigCheckPrintsEveryProblemAndFails) {
  std::ofstream(T("bad.yaml")) << "backing: models.enc\nread_onyl: true\nthreads: lots\n"
                               << "fuse_options: [ro]\n";
  CliResult r = RunCli({"config", "check", T("bad.yaml")});
  EXPECT_TRUE(FailedCleanly(r, "5 problem")) << r.Describe();
  EXPECT_EQ(r.out, T("bad.yaml") + ": \"mountpoint\" is missing: a store's config must name it\n" +
                       T("bad.yaml") +
                       ": line 1: \"backing\" must be an absolute path, not \"models.enc\"\n" +
                       T("bad.yaml") +
                       ": line 2: unknown key \"read_onyl\" (did you mean \"read_only\"?)\n" +
                       T("bad.yaml") +
                       ": line 3: \"threads\" must be an integer from 0 to 1024 (0 = default)\n" +
                       T("bad.yaml") +
                       ": line 4: \"ro\" in \"fuse_options\" mounts read-only while the daemon "
                       "serves writes; set \"read_only: true\"\n");
}

TEST_F(ConfigCliTest, TheShippedDefaultPolicyRefusesAKeyfileStore) {
  std::string config = WriteConfig("store.yaml", "unlock: {keyfile: " + keyfile() + "}\n");
  CliResult r = RunCli({"policy", "check", "--config", config, "--policy", kDefaultPolicy});
  EXPECT_TRUE(FailedCleanly(r, "violation")) << r.Describe();
  for (const char* expected :
       {"forbid_slot_types: slot 0 is a keyfile slot\n",
        "require_tpm2_slot: the store has no tpm2 slot (slots: keyfile)\n",
        "require_recovery_slot: the store has no recovery slot (slots: keyfile)\n",
        "forbid_unlock_methods: the config unlocks with keyfile\n",
        "require_signatures: the config does not set \"signatures.require\"\n",
        "require_read_only: the config does not set \"read_only: true\"\n",
        "require_audit_log: the config names no \"audit.file\"\n"}) {
    EXPECT_NE(r.out.find(expected), std::string::npos) << expected << " not in:\n" << r.out;
  }
}

TEST_F(ConfigCliTest, AStoreAndConfigThatMeetThePolicyPass) {
  std::string config = WriteConfig(
      "store.yaml", "read_only: true\naudit: {file: " + T("models.audit") +
                        "}\naccess: {uids: [0]}\nunlock: {keyfile: " + keyfile() + "}\n");
  std::string policy = WritePolicy(
      "policy.yaml",
      "forbid_slot_types: [passphrase, tpm2]\nmax_keyslots: 1\nrequire_read_only: true\n"
      "require_audit_log: true\nallowed_uids: [root]\nforbid_rollback: true\n");
  CliResult r = RunCli({"policy", "check", "--config", config, "--policy", policy});
  ASSERT_TRUE(r.ok()) << r.Describe() << r.out;
  EXPECT_EQ(r.out, backing() + " and " + config + " meet policy " + policy + " (6 rule(s))\n");

  // A second keyslot breaks max_keyslots, read from the store's header as it is now.
  ASSERT_TRUE(RunCli({"keygen", T("second.key")}).ok());
  CliResult added = RunCli(
      {"keyslot", "add", backing(), "--keyfile", keyfile(), "--new-keyfile", T("second.key")});
  ASSERT_TRUE(added.ok()) << added.Describe();
  r = RunCli({"policy", "check", "--config", config, "--policy", policy});
  EXPECT_TRUE(FailedCleanly(r, "1 violation")) << r.Describe();
  EXPECT_EQ(r.out, "max_keyslots: the store has 2 keyslots, more than 1\n");
}

TEST_F(ConfigCliTest, AMalformedPolicyExitsTwoWithItsLines) {
  std::string config = WriteConfig("store.yaml", "");
  std::string policy = WritePolicy(
      "policy.yaml", "require_tpm2_slot: yes\nrequire_tpm_slot: true\nmax_keyslots: lots\n");
  CliResult r = RunCli({"policy", "check", "--config", config, "--policy", policy});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  // As `config check` prints a config's: one problem a line, then one line of error.
  EXPECT_EQ(r.out, policy +
                       ": line 2: unknown rule \"require_tpm_slot\" (did you mean "
                       "\"require_tpm2_slot\"?)\n" +
                       policy + ": line 3: \"max_keyslots\" must be a whole number from 1 to 64\n");
  EXPECT_TRUE(FailedCleanly(r, policy + ": 2 problem(s)")) << r.Describe();

  r = RunCli({"policy", "check", "--config", config, "--policy", T("absent.yaml")});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.out, T("absent.yaml") + ": No such file or directory\n");
}

TEST_F(ConfigCliTest, WithoutAnyPolicyTheCheckSaysWhereItLooked) {
  for (const char* path : {"/etc/modelvault/policy.yaml", MODELVAULT_DEFAULT_POLICY}) {
    if (access(path, F_OK) == 0) GTEST_SKIP() << path << " exists here";
  }
  CliResult r = RunCli({"policy", "check", "--config", WriteConfig("store.yaml", "")});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_TRUE(FailedCleanly(r, std::string("neither /etc/modelvault/policy.yaml nor ") +
                                   MODELVAULT_DEFAULT_POLICY + " exists"))
      << r.Describe();
}

TEST_F(ConfigCliTest, RulesSetToFalseOrEmptyAreNotCounted) {
  std::string config = WriteConfig("store.yaml", "read_only: true\n");
  std::string policy = WritePolicy(
      "policy.yaml", "require_read_only: true\nrequire_tpm2_slot: false\nforbid_slot_types: []\n");
  CliResult r = RunCli({"policy", "check", "--config", config, "--policy", policy});
  ASSERT_TRUE(r.ok()) << r.Describe() << r.out;
  EXPECT_EQ(r.out, backing() + " and " + config + " meet policy " + policy + " (1 rule(s))\n");
}

// The bdi device ("0:53") of the mount at `mountpoint`, from its st_dev.
std::string BdiOf(const std::string& mountpoint) {
  struct stat st;
  if (stat(mountpoint.c_str(), &st) != 0) return "";
  return std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
}

TEST_F(ConfigCliTest, CacheSettingsFromTheConfigReachTheMount) {
  std::string config = WriteConfig(
      "store.yaml", "unlock: {keyfile: " + keyfile() + "}\ncache: {readahead_kb: 512}\n");
  ASSERT_TRUE(RunCli({"config", "check", config}).ok());
  ASSERT_TRUE(Mount(backing(), mountpoint(), /*key=*/"", {"--config", config}));
  std::ifstream in("/sys/class/bdi/" + BdiOf(mountpoint()) + "/read_ahead_kb");
  std::string kb;
  in >> kb;
  EXPECT_EQ(kb, "512");  // the daemon's default is 1024
}

}  // namespace
}  // namespace modelvault::fs::test
