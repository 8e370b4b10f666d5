// `modelvault config check` and `modelvault policy check` through the built binary, on the
// shipped example files and on a real store; and cache settings from a config reaching a
// real mount.
#include <sys/stat.h>
#include <sys/sysmacros.h>

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
  CliResult r = RunCli({"config", "check", kExample});
  ASSERT_TRUE(r.ok()) << r.Describe() << r.out;
  EXPECT_EQ(r.out.rfind(kExample + ": OK\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("/srv/models.enc at /models, read-only"), std::string::npos) << r.out;
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
  std::string policy = WritePolicy("policy.yaml", "require_tpm2_slot: yes\nrequire_tmp: true\n");
  CliResult r = RunCli({"policy", "check", "--config", config, "--policy", policy});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_NE(r.err.find(policy + ": line 2: unknown rule \"require_tmp\""), std::string::npos)
      << r.err;
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
