// Keyslot management through the CLI on real stores: add, list and remove slots, recovery
// keys, the unlock order from a config, and the header's authentication of the slot list.
// Every failure leaves the backing directory byte-identical.
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

using nlohmann::json;

class KeyslotCliTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = false}; }

  json Header() {
    auto text = ReadFile(B("modelvault.json"));
    EXPECT_TRUE(text.has_value());
    return text ? json::parse(*text) : json();
  }
  std::vector<std::string> SlotTypes() {
    std::vector<std::string> types;
    const json header = Header();
    for (const json& slot : header["keyslots"]) types.push_back(slot["type"]);
    return types;
  }
  void Store(const std::string& name, const std::string& content) {
    std::ofstream(T(name)) << content;
  }
  CliResult Run(std::vector<std::string> args) { return RunCli(args, std::chrono::seconds(60)); }
  // Mounts with `unlock` options, checks a file written earlier, unmounts.
  void ExpectMountsWith(const std::vector<std::string>& unlock) {
    ASSERT_TRUE(Mount(backing(), mountpoint(), "", unlock));
    EXPECT_TRUE(FileHolds(M("model.bin"), "weights"));
    ASSERT_TRUE(Unmount());
  }
  void WriteModel() {
    ASSERT_TRUE(Mount());
    ASSERT_EQ(WriteFile(M("model.bin"), "weights"), 0);
    ASSERT_TRUE(Unmount());
  }
};

TEST_F(KeyslotCliTest, InitWritesARecoveryKeyThatMounts) {
  ASSERT_TRUE(RemoveTree(backing()));
  CliResult init =
      Run({"init", backing(), "--keyfile", keyfile(), "--recovery-key-out", T("recovery.txt")});
  ASSERT_TRUE(init.ok()) << init.Describe();
  EXPECT_EQ(SlotTypes(), (std::vector<std::string>{"keyfile", "recovery"}));
  struct stat st;
  ASSERT_EQ(stat(T("recovery.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto text = ReadFile(T("recovery.txt"));
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(text->size(), 8 * 8 + 7 + 1) << *text;  // 8 groups of 8, dashes, newline
  // The key never reaches the command's output.
  EXPECT_EQ(init.out.find(text->substr(0, 17)), std::string::npos);
  WriteModel();
  ExpectMountsWith({"--recovery-key", T("recovery.txt")});
  // Typed by a person: uppercase, spaces instead of dashes.
  std::string typed = *text;
  for (char& c : typed) c = c == '-' ? ' ' : static_cast<char>(std::toupper(c));
  Store("typed.txt", typed);
  ExpectMountsWith({"--recovery-key", T("typed.txt")});
}

TEST_F(KeyslotCliTest, WithoutATerminalInitMakesNoRecoverySlotUnlessAsked) {
  EXPECT_EQ(SlotTypes(), (std::vector<std::string>{"keyfile"}));
  const std::string before = SnapshotTree(backing());
  EXPECT_TRUE(
      FailedCleanly(Run({"keyslot", "add", backing(), "--keyfile", keyfile(), "--recovery"}),
                    "--recovery-key-out"));
  EXPECT_EQ(SnapshotTree(backing()), before);
}

TEST_F(KeyslotCliTest, AddListRemoveAndTheOldKeyStopsWorking) {
  WriteModel();
  ASSERT_TRUE(Keygen(T("second.key")).ok());
  CliResult add =
      Run({"keyslot", "add", backing(), "--keyfile", keyfile(), "--new-keyfile", T("second.key")});
  ASSERT_TRUE(add.ok()) << add.Describe();
  EXPECT_NE(add.out.find("Added keyslot 1 (keyfile)"), std::string::npos) << add.out;
  CliResult list = Run({"keyslot", "list", backing()});
  ASSERT_TRUE(list.ok()) << list.Describe();
  EXPECT_NE(list.out.find("0  keyfile"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("1  keyfile"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("wrapped"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("salt"), std::string::npos) << list.out;
  ExpectMountsWith({"--keyfile", T("second.key")});

  CliResult remove = Run({"keyslot", "remove", backing(), "0", "--keyfile", T("second.key")});
  ASSERT_TRUE(remove.ok()) << remove.Describe();
  EXPECT_EQ(SlotTypes(), (std::vector<std::string>{"keyfile"}));
  EXPECT_TRUE(FailedCleanly(Run({"mount", backing(), mountpoint(), "--keyfile", keyfile()}),
                            "does not open keyslot 1"));
  ExpectMountsWith({"--keyfile", T("second.key")});
}

TEST_F(KeyslotCliTest, TheLastSlotCannotBeRemoved) {
  const std::string before = SnapshotTree(backing());
  EXPECT_TRUE(
      FailedCleanly(Run({"keyslot", "remove", backing(), "0", "--keyfile", keyfile()}), "last"));
  EXPECT_TRUE(FailedCleanly(Run({"keyslot", "remove", backing(), "7", "--keyfile", keyfile()}),
                            "no keyslot 7"));
  EXPECT_EQ(SnapshotTree(backing()), before);
}

TEST_F(KeyslotCliTest, FailedCommandsLeaveTheHeaderAsItWas) {
  ASSERT_TRUE(Keygen(T("other.key")).ok());
  const std::string before = SnapshotTree(backing());
  // Wrong key to unlock; no key at all; two new slots at once; bad PCR list.
  EXPECT_TRUE(FailedCleanly(Run({"keyslot", "add", backing(), "--keyfile", T("other.key"),
                                 "--new-keyfile", T("other.key")}),
                            "does not open"));
  EXPECT_TRUE(FailedCleanly(Run({"keyslot", "add", backing(), "--new-keyfile", T("other.key")}),
                            "no key given"));
  EXPECT_TRUE(FailedCleanly(Run({"keyslot", "add", backing(), "--keyfile", keyfile(),
                                 "--new-keyfile", T("other.key"), "--tpm2"}),
                            "not several"));
  EXPECT_TRUE(FailedCleanly(
      Run({"keyslot", "add", backing(), "--keyfile", keyfile(), "--tpm2", "--tpm2-pcrs", "7,24"}),
      "24"));
  EXPECT_TRUE(FailedCleanly(Run({"keyslot", "remove", backing(), "0", "--keyfile", T("other.key")}),
                            "does not open"));
  EXPECT_EQ(SnapshotTree(backing()), before);
}

TEST_F(KeyslotCliTest, ARemovedSlotPutBackIsCaughtByTheHeaderMac) {
  ASSERT_TRUE(Keygen(T("second.key")).ok());
  json original_slot = Header()["keyslots"][0];
  ASSERT_TRUE(
      Run({"keyslot", "add", backing(), "--keyfile", keyfile(), "--new-keyfile", T("second.key")})
          .ok());
  ASSERT_TRUE(Run({"keyslot", "remove", backing(), "0", "--keyfile", T("second.key")}).ok());
  // Someone with write access to the backing dir restores the removed slot: it still opens
  // with the old key, but the header no longer authenticates.
  json header = Header();
  header["keyslots"].push_back(original_slot);
  ASSERT_EQ(WriteFile(B("modelvault.json"), header.dump(2)), 0);
  EXPECT_TRUE(FailedCleanly(Run({"mount", backing(), mountpoint(), "--keyfile", keyfile()}),
                            "header authentication failed"));
  EXPECT_FALSE(IsMountPoint(mountpoint()));
  EXPECT_TRUE(FailedCleanly(
      Run({"keyslot", "add", backing(), "--keyfile", keyfile(), "--new-keyfile", T("second.key")}),
      "header authentication failed"));
}

TEST_F(KeyslotCliTest, AWholeOldHeaderPutBackIsRefusedAsARollback) {
  WriteModel();
  ASSERT_TRUE(Keygen(T("second.key")).ok());
  auto old_header = ReadFile(B("modelvault.json"));
  ASSERT_TRUE(old_header.has_value());
  ASSERT_TRUE(
      Run({"keyslot", "add", backing(), "--keyfile", keyfile(), "--new-keyfile", T("second.key")})
          .ok());
  ASSERT_TRUE(Run({"keyslot", "remove", backing(), "0", "--keyfile", T("second.key")}).ok());
  EXPECT_EQ(Header()["generation"], 2);
  // The old header is validly sealed, and its slot 0 still opens with the old key; only
  // this host's memory of generation 2 tells it apart.
  ASSERT_EQ(WriteFile(B("modelvault.json"), *old_header), 0);
  EXPECT_TRUE(FailedCleanly(Run({"mount", backing(), mountpoint(), "--keyfile", keyfile()}),
                            "older than version 2"));
  EXPECT_FALSE(IsMountPoint(mountpoint()));
  EXPECT_TRUE(FailedCleanly(
      Run({"keyslot", "add", backing(), "--keyfile", keyfile(), "--new-keyfile", T("second.key")}),
      "older than version 2"));
}

TEST_F(KeyslotCliTest, OneKindOfNewSlotAtATimeAndNoEmptyPcrList) {
  const std::string before = SnapshotTree(backing());
  EXPECT_TRUE(FailedCleanly(Run({"keyslot", "add", backing(), "--keyfile", keyfile(), "--recovery",
                                 "--recovery-key-out", T("rk"), "--tpm2"}),
                            "not several"));
  EXPECT_TRUE(FailedCleanly(
      Run({"keyslot", "add", backing(), "--keyfile", keyfile(), "--tpm2", "--tpm2-pcrs", ""}),
      "--tpm2-pcrs is empty"));
  EXPECT_TRUE(FailedCleanly(
      Run({"keyslot", "add", backing(), "--keyfile", keyfile(), "--tpm2", "--tpm2-pcrs", "7,"}),
      "comma"));
  // A recovery slot that could not be added leaves no key file behind, finished or not.
  ASSERT_TRUE(Keygen(T("other.key")).ok());
  EXPECT_TRUE(FailedCleanly(Run({"keyslot", "add", backing(), "--keyfile", T("other.key"),
                                 "--recovery", "--recovery-key-out", T("rk")}),
                            "does not open"));
  EXPECT_FALSE(ReadFile(T("rk")).has_value());
  EXPECT_FALSE(ReadFile(T("rk.partial")).has_value());
  EXPECT_EQ(SnapshotTree(backing()), before);
}

TEST_F(KeyslotCliTest, ConfigOrderChoosesTheMethodAndTheMountSaysWhichSlotOpened) {
  ASSERT_TRUE(RemoveTree(backing()));
  ASSERT_TRUE(
      Run({"init", backing(), "--keyfile", keyfile(), "--recovery-key-out", T("recovery.txt")})
          .ok());
  WriteModel();
  Store("mount.yaml", "backing: " + backing() + "\nmountpoint: " + mountpoint() +
                          "\nunlock:\n  order: [recovery, keyfile]\n  keyfile: " + keyfile() +
                          "\n  recovery_key_file: " + T("recovery.txt") + "\n");
  CliResult mount = Run({"mount", "--config", T("mount.yaml")});
  ASSERT_TRUE(mount.ok()) << mount.Describe();
  EXPECT_NE(mount.out.find("keyslot 1, recovery"), std::string::npos) << mount.out;
  ASSERT_TRUE(Run({"umount", mountpoint()}).ok());
  // A flag on the command line replaces the config's unlock section as a whole.
  mount = Run({"mount", "--config", T("mount.yaml"), "--keyfile", keyfile()});
  ASSERT_TRUE(mount.ok()) << mount.Describe();
  EXPECT_NE(mount.out.find("keyslot 0, keyfile"), std::string::npos) << mount.out;
  ASSERT_TRUE(Run({"umount", mountpoint()}).ok());
}

TEST_F(KeyslotCliTest, NoKeyGivenListsTheSlots) {
  EXPECT_TRUE(FailedCleanly(Run({"mount", backing(), mountpoint()}), "keyslots: 0 keyfile"));
  EXPECT_TRUE(FailedCleanly(Run({"mount", backing(), mountpoint(), "--recovery-key", keyfile()}),
                            "recovery key"));
}

}  // namespace
}  // namespace modelvault::fs::test
