// Store policies: reading rule files, and each rule passing and failing on headers and
// configs made here.
#include "config/store_policy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace modelvault::config {
namespace {

using nlohmann::json;

class StorePolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "mv-policy-test-XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    path_ = dir_ + "/policy.yaml";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<StorePolicy> Load(const std::string& yaml) {
    std::ofstream(path_) << yaml;
    return LoadStorePolicy(path_);
  }
  std::string Error(const std::string& yaml) {
    auto policy = Load(yaml);
    EXPECT_FALSE(policy.ok()) << yaml;
    return policy.ok() ? "" : policy.status().message();
  }
  // The violations of policy `yaml` by `header` and `config`, as "rule: what".
  std::vector<std::string> Violations(const std::string& yaml, const volume::VolumeHeader& header,
                                      const MountConfig& config) {
    auto policy = Load(yaml);
    EXPECT_TRUE(policy.ok()) << policy.status().ToString();
    std::vector<std::string> out;
    if (!policy.ok()) return {"unreadable policy"};
    for (const Violation& v : EvaluatePolicy(*policy, header, config)) {
      out.push_back(v.rule + ": " + v.what);
    }
    return out;
  }

  static volume::VolumeHeader Header(std::vector<json> slots) {
    volume::VolumeHeader header;
    header.keyslots = std::move(slots);
    return header;
  }
  static json Slot(int id, const std::string& type) { return {{"id", id}, {"type", type}}; }
  static json Tpm2(int id, std::vector<int> pcrs) {
    return {{"id", id}, {"type", "tpm2"}, {"pcrs", pcrs}};
  }

  std::string dir_, path_;
  const MountConfig none_{};
};

using Lines = std::vector<std::string>;

TEST_F(StorePolicyTest, ForbidSlotTypes) {
  const std::string rule = "forbid_slot_types: [passphrase, keyfile]\n";
  EXPECT_EQ(Violations(rule, Header({Tpm2(0, {7}), Slot(1, "recovery")}), none_), Lines{});
  EXPECT_EQ(
      Violations(rule, Header({Slot(0, "keyfile"), Tpm2(1, {7}), Slot(2, "passphrase")}), none_),
      (Lines{"forbid_slot_types: slot 0 is a keyfile slot",
             "forbid_slot_types: slot 2 is a passphrase slot"}));
}

TEST_F(StorePolicyTest, Tpm2PcrsInclude) {
  const std::string rule = "tpm2_pcrs_include: [7, 11]\n";
  EXPECT_EQ(Violations(rule, Header({Tpm2(0, {0, 7, 11}), Slot(1, "keyfile")}), none_), Lines{});
  EXPECT_EQ(Violations(rule, Header({Tpm2(0, {7, 11}), Tpm2(1, {0, 7}), Tpm2(2, {})}), none_),
            (Lines{"tpm2_pcrs_include: tpm2 slot 1 is bound to PCRs 0,7, not to 11",
                   "tpm2_pcrs_include: tpm2 slot 2 is bound to PCRs none, not to 7,11"}));
}

TEST_F(StorePolicyTest, RequireTpm2AndRecoverySlots) {
  const std::string rule = "require_tpm2_slot: true\nrequire_recovery_slot: true\n";
  EXPECT_EQ(Violations(rule, Header({Tpm2(0, {7}), Slot(1, "recovery")}), none_), Lines{});
  EXPECT_EQ(Violations(rule, Header({Slot(0, "keyfile")}), none_),
            (Lines{"require_tpm2_slot: the store has no tpm2 slot (slots: keyfile)",
                   "require_recovery_slot: the store has no recovery slot (slots: keyfile)"}));
  // false switches a rule off.
  EXPECT_EQ(Violations("require_tpm2_slot: false\n", Header({}), none_), Lines{});
}

TEST_F(StorePolicyTest, MaxKeyslots) {
  EXPECT_EQ(Violations("max_keyslots: 2\n", Header({Tpm2(0, {7}), Slot(1, "recovery")}), none_),
            Lines{});
  EXPECT_EQ(Violations("max_keyslots: 1\n", Header({Tpm2(0, {7}), Slot(1, "recovery")}), none_),
            Lines{"max_keyslots: the store has 2 keyslots, more than 1"});
}

TEST_F(StorePolicyTest, RequireSignatures) {
  MountConfig signed_config;
  signed_config.require_signatures = true;
  signed_config.trust = {"/etc/modelvault/publisher.pub.pem"};
  EXPECT_EQ(Violations("require_signatures: true\n", Header({}), signed_config), Lines{});
  EXPECT_EQ(Violations("require_signatures: true\n", Header({}), none_),
            (Lines{"require_signatures: the config does not set \"signatures.require\"",
                   "require_signatures: the config trusts no publisher key"}));
}

TEST_F(StorePolicyTest, ForbidRollback) {
  MountConfig rollback;
  rollback.allow_rollback = true;
  EXPECT_EQ(Violations("forbid_rollback: true\n", Header({}), none_), Lines{});
  EXPECT_EQ(Violations("forbid_rollback: true\n", Header({}), rollback),
            Lines{"forbid_rollback: the config sets \"signatures.allow_rollback: true\""});
}

TEST_F(StorePolicyTest, RequireAuditLogAndReadOnly) {
  MountConfig good;
  good.audit_file = "/var/log/modelvault/models.audit";
  good.read_only = true;
  const std::string rules = "require_audit_log: true\nrequire_read_only: true\n";
  EXPECT_EQ(Violations(rules, Header({}), good), Lines{});
  EXPECT_EQ(Violations(rules, Header({}), none_),
            (Lines{"require_audit_log: the config names no \"audit.file\"",
                   "require_read_only: the config does not set \"read_only: true\""}));
}

TEST_F(StorePolicyTest, RequireAccessListAndExecutables) {
  MountConfig good;
  good.allow_uids = {"1001"};
  good.allow_executables = {"/usr/bin/python3"};
  const std::string rules = "require_access_list: true\nrequire_executables: true\n";
  EXPECT_EQ(Violations(rules, Header({}), good), Lines{});
  EXPECT_EQ(Violations(rules, Header({}), none_),
            (Lines{"require_access_list: the config's \"access\" names no uids or gids",
                   "require_executables: the config's \"access\" names no executables"}));
}

TEST_F(StorePolicyTest, AnAccessListOfRootAloneNamesNoOne) {
  // Root is the user the service unit mounts as: listing it admits no one else.
  MountConfig root_only;
  root_only.allow_uids = {"root", "0"};
  EXPECT_EQ(Violations("require_access_list: true\n", Header({}), root_only),
            Lines{"require_access_list: the config's \"access\" names only root, the user who "
                  "mounts"});
  root_only.allow_gids = {"daemon"};
  EXPECT_EQ(Violations("require_access_list: true\n", Header({}), root_only), Lines{});
}

TEST_F(StorePolicyTest, AllowedUidsCompareNumbersResolvingNames) {
  MountConfig config;
  config.allow_uids = {"root", "1001"};
  EXPECT_EQ(Violations("allowed_uids: [0, 1001]\n", Header({}), config), Lines{});
  EXPECT_EQ(Violations("allowed_uids: [root]\n", Header({}), config),
            Lines{"allowed_uids: access admits uid 1001, which the policy does not allow"});
  EXPECT_EQ(Violations("allowed_uids: [1001]\n", Header({}), config),
            Lines{"allowed_uids: access admits uid 0 (root), which the policy does not allow"});
  config.allow_uids = {"no-such-user-here"};
  config.allow_gids = {"models"};
  EXPECT_EQ(Violations("allowed_uids: [0]\n", Header({}), config),
            (Lines{"allowed_uids: access admits user \"no-such-user-here\", unknown here",
                   "allowed_uids: access admits group \"models\", whose members the policy "
                   "cannot bound"}));
}

TEST_F(StorePolicyTest, ForbidUnlockMethods) {
  MountConfig config;
  config.unlock.order = {"tpm2", "recovery"};
  config.unlock.tpm2 = true;
  config.unlock.recovery_key_file = "/root/recovery";
  EXPECT_EQ(Violations("forbid_unlock_methods: [passphrase, keyfile]\n", Header({}), config),
            Lines{});
  config.unlock.passphrase_file = "/run/pass";
  EXPECT_EQ(Violations("forbid_unlock_methods: [passphrase, keyfile]\n", Header({}), config),
            Lines{"forbid_unlock_methods: the config unlocks with passphrase"});
}

TEST_F(StorePolicyTest, ForbidUnlockMethodsSeesWhatAMountTriesWhenNothingIsSaid) {
  // No "unlock": a mount tries TPM slots without a PIN, then a passphrase prompt.
  EXPECT_EQ(Violations("forbid_unlock_methods: [passphrase, keyfile]\n", Header({}), none_),
            Lines{"forbid_unlock_methods: the config says nothing of how to unlock, so a mount "
                  "tries passphrase typed at a terminal"});
  EXPECT_EQ(Violations("forbid_unlock_methods: [tpm2, recovery]\n", Header({}), none_),
            Lines{"forbid_unlock_methods: the config says nothing of how to unlock, so a mount "
                  "tries tpm2 slots that need no PIN"});
  // Once a method is given, only what is given is tried.
  MountConfig tpm;
  tpm.unlock.tpm2 = true;
  EXPECT_EQ(Violations("forbid_unlock_methods: [passphrase, keyfile]\n", Header({}), tpm), Lines{});
  MountConfig tpm_pin;
  tpm_pin.unlock.tpm2_pin_file = "/etc/modelvault/tpm.pin";
  EXPECT_EQ(Violations("forbid_unlock_methods: [tpm2]\n", Header({}), tpm_pin),
            Lines{"forbid_unlock_methods: the config unlocks with tpm2"});
}

TEST_F(StorePolicyTest, OnlyRulesThatCheckSomethingAreCounted) {
  auto policy = Load(
      "require_tpm2_slot: false\nforbid_slot_types: []\nmax_keyslots: 2\n"
      "forbid_unlock_methods: []\nrequire_read_only: true\nallowed_uids: []\n");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  // An empty allowed_uids allows no uid: it is checked.
  EXPECT_EQ(policy->rules,
            (std::vector<std::string>{"max_keyslots", "require_read_only", "allowed_uids"}));
}

TEST_F(StorePolicyTest, QuotedValuesAndSecondDocumentsAreRefused) {
  EXPECT_EQ(Error("require_read_only: 'true'\nmax_keyslots: \"2\"\ntpm2_pcrs_include: ['7']\n"),
            path_ + ": line 1: \"require_read_only\" must be true or false, not a string\n" +
                path_ +
                ": line 2: \"max_keyslots\" must be a whole number from 1 to 64, not a "
                "string\n" +
                path_ + ": line 3: \"tpm2_pcrs_include\" must hold PCR numbers from 0 to 23");
  EXPECT_EQ(Error("require_read_only: true\n---\nrequire_audit_log: true\n"),
            path_ + ": line 3: only one YAML document is allowed");
}

TEST_F(StorePolicyTest, AMissingPolicyIsNamedOnce) {
  auto policy = LoadStorePolicy(dir_ + "/absent.yaml");
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().message(), dir_ + "/absent.yaml: No such file or directory");
  EXPECT_EQ(CheckStorePolicy(dir_ + "/absent.yaml").problems,
            Lines{dir_ + "/absent.yaml: No such file or directory"});
}

TEST_F(StorePolicyTest, MalformedPoliciesListEveryProblemWithLines) {
  EXPECT_EQ(Error("require_tpm_slot: true\nforbid_slot_types: [fingerprint]\n"
                  "tpm2_pcrs_include: [7, 24, 7]\nrequire_read_only: sometimes\nbogus: 1\n"),
            path_ +
                ": line 1: unknown rule \"require_tpm_slot\" (did you mean "
                "\"require_tpm2_slot\"?)\n" +
                path_ +
                ": line 2: unknown slot type \"fingerprint\" in \"forbid_slot_types\" (known: "
                "keyfile, passphrase, recovery, tpm2, pkcs11)\n" +
                path_ + ": line 3: \"tpm2_pcrs_include\" must hold PCR numbers from 0 to 23\n" +
                path_ + ": line 3: PCR 7 appears twice in \"tpm2_pcrs_include\"\n" + path_ +
                ": line 4: \"require_read_only\" must be true or false\n" + path_ +
                ": line 5: unknown rule \"bogus\" (known: forbid_slot_types, tpm2_pcrs_include, "
                "require_tpm2_slot, require_recovery_slot, max_keyslots, require_signatures, "
                "forbid_rollback, require_audit_log, require_read_only, require_access_list, "
                "allowed_uids, forbid_unlock_methods, require_executables)");
  EXPECT_EQ(Error("- require_tpm2_slot\n"),
            path_ + ": line 1: a policy must be a mapping of rule names to values");
  EXPECT_EQ(Error("require_tpm2_slot: true\nrequire_tpm2_slot: false\n"),
            path_ + ": line 2: duplicate rule \"require_tpm2_slot\"");
}

TEST_F(StorePolicyTest, TheShippedDefaultPolicyLoads) {
  auto policy = LoadStorePolicy(MODELVAULT_SOURCE_DIR "/packaging/default-policy.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_TRUE(policy->require_tpm2_slot);
  EXPECT_TRUE(policy->require_signatures);
}

}  // namespace
}  // namespace modelvault::config
