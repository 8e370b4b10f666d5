// CheckMountConfig and the cross-key checks: every problem of a file in one pass, the
// cache settings, and the conflicts between keys.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/mount_config.h"

namespace modelvault::config {
namespace {

class ConfigCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "mv-config-check-XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    path_ = dir_ + "/store.yaml";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  CheckedConfig Check(const std::string& yaml) {
    std::ofstream(path_) << yaml;
    return CheckMountConfig(path_);
  }
  // The problems of `yaml` with the file name taken off.
  std::vector<std::string> Problems(const std::string& yaml) {
    std::vector<std::string> out;
    for (const std::string& line : Check(yaml).problems) {
      EXPECT_EQ(line.rfind(path_ + ": ", 0), 0u) << line;
      out.push_back(line.substr(path_.size() + 2));
    }
    return out;
  }

  std::string dir_, path_;
  const std::string store_ = "backing: /srv/models.enc\nmountpoint: /models\n";
};

using Lines = std::vector<std::string>;

TEST_F(ConfigCheckTest, ACompleteConfigHasNoProblems) {
  CheckedConfig checked = Check(store_ + R"(read_only: true
unlock: {order: [tpm2, recovery], recovery_key_file: /root/models.recovery}
access: {uids: [1001], executables: [/usr/bin/python3]}
signatures: {trust: [/etc/modelvault/publisher.pub.pem], require: true}
audit: {file: /var/log/modelvault/models.audit}
cache: {entry_timeout: 0, attr_timeout: 30, keep_page_cache: false, readahead_kb: 4096}
)");
  EXPECT_EQ(checked.problems, Lines{});
  EXPECT_EQ(checked.config.entry_timeout, 0.0);
  EXPECT_EQ(checked.config.attr_timeout, 30.0);
  EXPECT_FALSE(checked.config.keep_page_cache);
  EXPECT_EQ(checked.config.readahead_kb, 4096);
}

TEST_F(ConfigCheckTest, CacheSettingsDefaultToTheDaemonsOwn) {
  std::ofstream(path_) << "threads: 2\n";
  auto loaded = LoadMountConfig(path_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_FALSE(loaded->entry_timeout.has_value());
  EXPECT_FALSE(loaded->attr_timeout.has_value());
  EXPECT_FALSE(loaded->readahead_kb.has_value());
  EXPECT_TRUE(loaded->keep_page_cache);
}

TEST_F(ConfigCheckTest, BackingAndMountpointAreRequiredOnlyByTheCheck) {
  EXPECT_EQ(Problems("read_only: true\n"),
            (Lines{"\"backing\" is missing: a store's config must name it",
                   "\"mountpoint\" is missing: a store's config must name it"}));
  std::ofstream(path_) << "read_only: true\n";
  EXPECT_TRUE(LoadMountConfig(path_).ok());  // the mount command may take them as arguments
}

TEST_F(ConfigCheckTest, EveryProblemIsReportedInLineOrder) {
  EXPECT_EQ(Problems(R"(backing: srv/models
mountpoint: /models
read_olny: true
threads: many
foreground: [true]
access:
  uids: [1001, 1001]
cache:
  entry_timeout: -1
  readahead: 5
)"),
            (Lines{"line 1: \"backing\" must be an absolute path, not \"srv/models\"",
                   "line 3: unknown key \"read_olny\" (did you mean \"read_only\"?)",
                   "line 4: \"threads\" must be an integer from 0 to 1024 (0 = default)",
                   "line 5: \"foreground\" must be true or false",
                   "line 7: \"1001\" appears twice in \"uids\"",
                   "line 9: \"entry_timeout\" must be a number of seconds from 0 to 86400",
                   "line 10: unknown key \"readahead\" in \"cache\" (did you mean "
                   "\"readahead_kb\"?)"}));
}

TEST_F(ConfigCheckTest, LoadListsEveryProblemToo) {
  std::ofstream(path_) << "threads: x\nlog_level: loud\n";
  auto loaded = LoadMountConfig(path_);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().message(),
            path_ + ": line 1: \"threads\" must be an integer from 0 to 1024 (0 = default)\n" +
                path_ + ": line 2: \"log_level\" must be one of debug, info, warning, error");
}

TEST_F(ConfigCheckTest, RelativePathsAreRefusedWhereverAPathIsExpected) {
  EXPECT_EQ(
      Problems(store_ + "state_file: state.json\nunlock: {keyfile: k.key}\naudit: {file: a.log}\n"
                        "signatures: {trust: [pub.pem]}\nmetrics: {file: m.prom}\n"),
      (Lines{"line 3: \"state_file\" must be an absolute path, not \"state.json\"",
             "line 4: \"keyfile\" must be an absolute path, not \"k.key\"",
             "line 5: \"file\" must be an absolute path, not \"a.log\"",
             "line 6: \"trust\" must hold absolute paths, not \"pub.pem\"",
             "line 7: \"file\" must be an absolute path, not \"m.prom\""}));
}

TEST_F(ConfigCheckTest, FuseOptionsTheDaemonSetsOrThatContradictOtherKeys) {
  EXPECT_EQ(
      Problems(store_ +
               "read_only: false\nfuse_options:\n  - allow_other\n  - default_permissions\n"
               "  - ro\n  - fsname=x\n  - max_read=131072\n"),
      (Lines{"line 5: \"allow_other\" in \"fuse_options\" is set by the daemon when \"access\" "
             "admits other users; list them there",
             "line 6: \"default_permissions\" in \"fuse_options\" is set by the daemon itself",
             "line 7: \"ro\" in \"fuse_options\" contradicts \"read_only: false\"",
             "line 8: \"fsname=x\" in \"fuse_options\" is set by the daemon itself"}));
  EXPECT_EQ(Problems(store_ + "read_only: true\nfuse_options: [rw]\n"),
            Lines{"line 4: \"rw\" in \"fuse_options\" contradicts \"read_only: true\""});
  EXPECT_EQ(Problems(store_ + "fuse_options: [ro]\n"),
            Lines{"line 3: \"ro\" in \"fuse_options\" mounts read-only while the daemon serves "
                  "writes; set \"read_only: true\""});
}

TEST_F(ConfigCheckTest, ASharedMountMayNotCacheNames) {
  const std::string cache = "cache:\n  attr_timeout: 5\n  entry_timeout: 5\n";
  EXPECT_EQ(Problems(store_ + "access: {uids: [daemon]}\n" + cache),
            Lines{"line 6: \"entry_timeout\" must be 0 on a shared mount: \"access\" admits "
                  "other users, and the kernel must not answer them from names cached for "
                  "another"});
  EXPECT_EQ(Problems(store_ + "access: {gids: [daemon]}\n" + cache).size(), 1u);
  // Root alone is the user who mounts from the service unit: the mount is not shared.
  EXPECT_EQ(Problems(store_ + "access: {uids: [root, 0]}\n" + cache), Lines{});
  EXPECT_EQ(Problems(store_ + "access: {uids: [daemon]}\ncache: {entry_timeout: 0}\n"), Lines{});
}

TEST_F(ConfigCheckTest, ConflictsBetweenSections) {
  EXPECT_EQ(Problems(store_ + "signatures: {require: true}\n"
                              "unlock: {order: [pkcs11, keyfile]}\n"
                              "access: {executables: [/bin/cat]}\n"
                              "audit: {file: /var/log/x}\nmetrics: {file: /var/log/x}\n"),
            (Lines{"line 3: \"signatures\" requires signatures but trusts no key (\"trust\")",
                   "line 4: \"order\" lists pkcs11 but \"unlock\" does not say how to use it",
                   "line 4: \"order\" lists keyfile but \"unlock\" does not say how to use it",
                   "line 5: \"access\" lists executables but no uids or gids to run them",
                   "line 7: \"metrics\" and \"audit\" name the same file"}));
  EXPECT_EQ(Problems("backing: /srv/models\nmountpoint: /srv/models/plain\n"),
            Lines{"line 2: \"mountpoint\" and \"backing\" overlap: neither may be inside the "
                  "other"});
  EXPECT_EQ(Problems("backing: /srv/models\nmountpoint: /srv/models2\n"), Lines{});
}

TEST_F(ConfigCheckTest, SyntaxAndMissingFilesAreProblemsToo) {
  Lines syntax = Check(store_ + "fuse_options: [a, b\n").problems;
  ASSERT_EQ(syntax.size(), 1u);
  EXPECT_EQ(syntax[0].rfind(path_ + ": line ", 0), 0u) << syntax[0];
  EXPECT_EQ(CheckMountConfig(dir_ + "/absent.yaml").problems,
            Lines{dir_ + "/absent.yaml: No such file or directory"});
}

TEST_F(ConfigCheckTest, UnknownUsersAndGroupsAreProblems) {
  EXPECT_EQ(Problems(store_ + "access: {uids: [nosuchuser]}\n"),
            Lines{"line 3: no user named nosuchuser"});
  EXPECT_EQ(
      Problems(store_ + "access:\n  uids: [root, 0, 4242]\n  gids: [daemon, nosuchgroup, 7]\n"),
      Lines{"line 5: no group named nosuchgroup"});
  // Reported once however often it is listed, beside the repetition itself.
  EXPECT_EQ(Problems(store_ + "access: {uids: [nosuchuser, nosuchuser]}\n"),
            (Lines{"line 3: \"nosuchuser\" appears twice in \"uids\"",
                   "line 3: no user named nosuchuser"}));
}

TEST_F(ConfigCheckTest, OverlapIsJudgedOnNormalisedPaths) {
  const std::string overlap =
      "line 2: \"mountpoint\" and \"backing\" overlap: neither may be inside the other";
  EXPECT_EQ(Problems("backing: /a/b\nmountpoint: /a/b/../mp\n"), Lines{});
  EXPECT_EQ(Problems("backing: /a/b\nmountpoint: /a/c/../b/m\n"), Lines{overlap});
  EXPECT_EQ(Problems("backing: /a/./b/\nmountpoint: /a//b\n"), Lines{overlap});
  EXPECT_EQ(Problems("backing: /a/b/m/..\nmountpoint: /a\n"), Lines{overlap});
  EXPECT_EQ(Problems("backing: /a/bc\nmountpoint: /a/b\n"), Lines{});
}

TEST_F(ConfigCheckTest, FuseOptionsJoinedByCommasAreCheckedOneByOne) {
  EXPECT_EQ(Problems(store_ + "fuse_options: [\"max_read=4096,allow_other\"]\n"),
            Lines{"line 3: \"allow_other\" in \"fuse_options\" is set by the daemon when "
                  "\"access\" admits other users; list them there"});
  EXPECT_EQ(Problems(store_ + "read_only: true\nfuse_options: [\"ro,rw\"]\n"),
            (Lines{"line 4: \"ro\" in \"fuse_options\" repeats \"read_only: true\"",
                   "line 4: \"rw\" in \"fuse_options\" contradicts \"read_only: true\""}));
  // A repeated option is a repetition, reported once with its conflict once.
  EXPECT_EQ(Problems(store_ + "read_only: true\nfuse_options: [ro, ro]\n"),
            (Lines{"line 4: \"ro\" appears twice in \"fuse_options\"",
                   "line 4: \"ro\" in \"fuse_options\" repeats \"read_only: true\""}));
  EXPECT_EQ(Problems(store_ + "fuse_options: [\"noatime,max_read=4096\", noatime]\n"),
            Lines{"line 3: \"noatime\" appears twice in \"fuse_options\""});
  // rw is what a mount that is not read-only does anyway.
  EXPECT_EQ(Problems(store_ + "read_only: false\nfuse_options: [rw]\n"), Lines{});
  EXPECT_EQ(Problems(store_ + "fuse_options: [rw]\n"), Lines{});
}

TEST_F(ConfigCheckTest, OnlyOneYamlDocumentIsRead) {
  EXPECT_EQ(Problems(store_ + "---\nread_only: true\n"),
            Lines{"line 4: only one YAML document is allowed"});
  // The first document is still checked.
  EXPECT_EQ(Problems(store_ + "threads: x\n---\nread_only: true\n"),
            (Lines{"line 3: \"threads\" must be an integer from 0 to 1024 (0 = default)",
                   "line 5: only one YAML document is allowed"}));
  EXPECT_EQ(Problems("---\n" + store_ + "...\n"), Lines{});
}

TEST_F(ConfigCheckTest, BooleansAndNumbersMayNotBeQuoted) {
  EXPECT_EQ(
      Problems(store_ + "read_only: 'true'\nthreads: \"4\"\ncache: {entry_timeout: '0'}\n"
                        "unlock: {tpm2: !!str true}\n"),
      (Lines{"line 3: \"read_only\" must be true or false, not a string",
             "line 4: \"threads\" must be an integer from 0 to 1024 (0 = default), not a string",
             "line 5: \"entry_timeout\" must be a number of seconds from 0 to 86400, not a string",
             "line 6: \"tpm2\" must be true or false, not a string"}));
  EXPECT_EQ(Problems(store_ + "read_only: true\nthreads: 4\nlog_level: 'info'\n"), Lines{});
  // A refused read_only is not then said to be contradicted by "ro".
  EXPECT_EQ(Problems(store_ + "read_only: 'false'\nfuse_options: [ro]\n"),
            (Lines{"line 3: \"read_only\" must be true or false, not a string",
                   "line 4: \"ro\" in \"fuse_options\" mounts read-only while the daemon serves "
                   "writes; set \"read_only: true\""}));
}

}  // namespace
}  // namespace modelvault::config
