// The CLI's failure paths, run as a user would: each failure must exit nonzero with one
// line on stderr that names the problem, and leave the backing directory as it was.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

class CliErrorsTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = false}; }

  CliResult MountCli(const std::string& backing_dir, const std::string& mp, const std::string& key,
                     std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"mount", backing_dir, mp, "--keyfile", key};
    args.insert(args.end(), extra.begin(), extra.end());
    CliResult r = RunCli(args, std::chrono::seconds(60));
    // A mount that should have failed but did not must still be cleaned up.
    if (IsMountPoint(mp)) RunCli({"umount", mp});
    return r;
  }

  void PopulateStore() {
    ASSERT_TRUE(Mount());
    MV_ASSERT_SYS(::mkdir(M("dir").c_str(), 0755));
    ASSERT_EQ(WriteFile(M("dir/file"), PatternBytes(1, 10000)), 0);
    MV_ASSERT_SYS(::symlink("dir/file", M("link").c_str()));
    ASSERT_TRUE(Unmount());
  }

  void EditHeader(const std::function<void(nlohmann::json*)>& edit) {
    const auto text = ReadFile(B("modelvault.json"));
    ASSERT_TRUE(text.has_value());
    nlohmann::json json = nlohmann::json::parse(*text);
    edit(&json);
    ASSERT_EQ(WriteFile(B("modelvault.json"), json.dump(2)), 0);
  }
};

TEST_F(CliErrorsTest, WrongKeyIsRefusedAndTheStoreIsUntouched) {
  PopulateStore();
  const std::string before = SnapshotTree(backing());
  ASSERT_TRUE(Keygen(T("other-key")).ok());
  const CliResult r = MountCli(backing(), mountpoint(), T("other-key"));
  EXPECT_TRUE(FailedCleanly(r, "key"));
  EXPECT_FALSE(IsMountPoint(mountpoint()));
  EXPECT_EQ(SnapshotTree(backing()), before);
  // The right key still works afterwards (no lock left behind).
  ASSERT_TRUE(Mount());
  EXPECT_TRUE(FileHolds(M("link"), PatternBytes(1, 10000)));
}

TEST_F(CliErrorsTest, MissingKeyfileOrBackingDir) {
  EXPECT_TRUE(FailedCleanly(MountCli(backing(), mountpoint(), T("no-such-key"))));
  EXPECT_TRUE(FailedCleanly(MountCli(T("no-such-store"), mountpoint(), keyfile())));
  EXPECT_TRUE(FailedCleanly(RunCli({"info", T("no-such-store")})));
}

TEST_F(CliErrorsTest, InvalidJsonHeader) {
  ASSERT_EQ(WriteFile(B("modelvault.json"), "{ \"version\": 1, this is not json"), 0);
  EXPECT_TRUE(FailedCleanly(MountCli(backing(), mountpoint(), keyfile()), "modelvault.json"));
  EXPECT_FALSE(IsMountPoint(mountpoint()));
  EXPECT_TRUE(FailedCleanly(RunCli({"info", backing()}), "modelvault.json"));
}

TEST_F(CliErrorsTest, UnknownFormatVersion) {
  EditHeader([](nlohmann::json* j) { (*j)["version"] = 99; });
  EXPECT_TRUE(FailedCleanly(MountCli(backing(), mountpoint(), keyfile()), "version"));
  EXPECT_FALSE(IsMountPoint(mountpoint()));
  EXPECT_TRUE(FailedCleanly(RunCli({"info", backing()}), "version"));
}

TEST_F(CliErrorsTest, TamperedHeaderParameterIsCaughtAtMount) {
  EditHeader([](nlohmann::json* j) { (*j)["block_size"] = 8192; });
  EXPECT_TRUE(FailedCleanly(MountCli(backing(), mountpoint(), keyfile())));
  EXPECT_FALSE(IsMountPoint(mountpoint()));
}

TEST_F(CliErrorsTest, DirectoryThatIsNotAStore) {
  MV_ASSERT_SYS(::mkdir(T("plain").c_str(), 0755));
  ASSERT_EQ(WriteFile(T("plain/file"), "data"), 0);
  const std::string before = SnapshotTree(T("plain"));
  EXPECT_TRUE(FailedCleanly(MountCli(T("plain"), mountpoint(), keyfile())));
  EXPECT_FALSE(IsMountPoint(mountpoint()));
  EXPECT_TRUE(FailedCleanly(RunCli({"info", T("plain")})));
  EXPECT_EQ(SnapshotTree(T("plain")), before);
}

TEST_F(CliErrorsTest, InitRefusesNonEmptyDirectoriesAndBadBlockSizes) {
  MV_ASSERT_SYS(::mkdir(T("full").c_str(), 0755));
  MV_ASSERT_SYS(::mkdir(T("full/sub").c_str(), 0700));
  ASSERT_EQ(WriteFile(T("full/file"), "precious"), 0);
  const std::string before = SnapshotTree(T("full"));
  EXPECT_TRUE(FailedCleanly(Init(T("full"), keyfile(), 4096)));
  EXPECT_EQ(SnapshotTree(T("full")), before);
  // An existing store is not empty either.
  const std::string store_before = SnapshotTree(backing());
  EXPECT_TRUE(FailedCleanly(Init(backing(), keyfile(), 4096)));
  EXPECT_EQ(SnapshotTree(backing()), store_before);
  // Block sizes must be powers of two in [4096, 1 MiB].
  for (const uint32_t bad : {1000u, 6000u, 2048u, 1u << 21}) {
    const std::string dir = T("bs" + std::to_string(bad));
    EXPECT_TRUE(FailedCleanly(Init(dir, keyfile(), bad))) << bad;
    EXPECT_TRUE(ListDir(dir).empty()) << "init left files in " << dir;
  }
}

TEST_F(CliErrorsTest, InfoShowsTheBlockSizeWithoutAKey) {
  const CliResult r = RunCli({"info", backing()});
  EXPECT_TRUE(r.ok()) << r.Describe();
  EXPECT_NE(r.out.find("4096"), std::string::npos) << r.Describe();
}

TEST_F(CliErrorsTest, MissingMountpoint) {
  const std::string before = SnapshotTree(backing());
  EXPECT_TRUE(FailedCleanly(MountCli(backing(), T("no-such-dir"), keyfile())));
  EXPECT_EQ(SnapshotTree(backing()), before);
  ASSERT_TRUE(Mount()) << "a failed mount left the store locked";
}

TEST_F(CliErrorsTest, BusyMountpoint) {
  ASSERT_TRUE(Mount());
  ASSERT_EQ(WriteFile(M("f"), "first store"), 0);
  ASSERT_TRUE(Init(T("backing2"), keyfile(), 4096).ok());
  const CliResult other = RunCli({"mount", T("backing2"), mountpoint(), "--keyfile", keyfile()});
  EXPECT_TRUE(FailedCleanly(other)) << "mounted a second store over a mounted one";
  const CliResult same = RunCli({"mount", backing(), mountpoint(), "--keyfile", keyfile()});
  EXPECT_TRUE(FailedCleanly(same));
  // Whatever happened, exactly one mount (ours) must be on the mountpoint.
  EXPECT_TRUE(FileHolds(M("f"), "first store"));
  ASSERT_TRUE(Unmount());
  EXPECT_FALSE(IsMountPoint(mountpoint())) << "a second mount was stacked on the mountpoint";
  if (IsMountPoint(mountpoint())) RunCommand({"umount", "-l", mountpoint()});
}

TEST_F(CliErrorsTest, OneReadWriteMountAtATimeButReadOnlyBesideIt) {
  ASSERT_TRUE(Mount());
  ASSERT_EQ(WriteFile(M("f"), "shared"), 0);
  const std::string mp2 = T("mnt2");
  MV_ASSERT_SYS(::mkdir(mp2.c_str(), 0755));
  EXPECT_TRUE(FailedCleanly(MountCli(backing(), mp2, keyfile())));
  EXPECT_FALSE(IsMountPoint(mp2));
  ASSERT_TRUE(Mount(backing(), mp2, keyfile(), {"--read-only"}));
  EXPECT_TRUE(FileHolds(mp2 + "/f", "shared"));
  MV_EXPECT_ERRNO(::open((mp2 + "/g").c_str(), O_WRONLY | O_CREAT, 0644), EROFS);
  MV_EXPECT_ERRNO(::open((mp2 + "/f").c_str(), O_WRONLY), EROFS);
  MV_EXPECT_ERRNO(::mkdir((mp2 + "/d").c_str(), 0755), EROFS);
  MV_EXPECT_ERRNO(::unlink((mp2 + "/f").c_str()), EROFS);
  ASSERT_TRUE(Unmount(mp2));
  ASSERT_TRUE(Unmount());
  // The lock goes with the mount: a read-write mount elsewhere works now.
  ASSERT_TRUE(Mount(backing(), mp2, keyfile()));
  EXPECT_TRUE(FileHolds(mp2 + "/f", "shared"));
  ASSERT_TRUE(Unmount(mp2));
}

TEST_F(CliErrorsTest, KeygenMakes0600FilesAndRefusesToOverwrite) {
  const mode_t old_mask = ::umask(0);
  const CliResult r = Keygen(T("k2"));
  ::umask(old_mask);
  ASSERT_TRUE(r.ok()) << r.Describe();
  const auto st = Lstat(T("k2"));
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->st_mode, S_IFREG | 0600);
  EXPECT_EQ(st->st_size, 32);
  const auto key = ReadFile(T("k2"));
  EXPECT_NE(key, ReadFile(keyfile())) << "two keygens made the same key";
  EXPECT_TRUE(FailedCleanly(Keygen(T("k2"))));
  EXPECT_EQ(ReadFile(T("k2")), key) << "keygen overwrote an existing key";
  ASSERT_EQ(WriteFile(T("not-a-key"), "something else"), 0);
  EXPECT_TRUE(FailedCleanly(Keygen(T("not-a-key"))));
  EXPECT_EQ(ReadFile(T("not-a-key")), std::optional<std::string>("something else"));
}

TEST_F(CliErrorsTest, MalformedKeyfile) {
  ASSERT_EQ(WriteFile(T("short-key"), std::string(31, 'k'), 0600), 0);
  EXPECT_TRUE(FailedCleanly(MountCli(backing(), mountpoint(), T("short-key"))));
  ASSERT_EQ(WriteFile(T("long-key"), std::string(64, 'k'), 0600), 0);
  EXPECT_TRUE(FailedCleanly(MountCli(backing(), mountpoint(), T("long-key"))));
  EXPECT_FALSE(IsMountPoint(mountpoint()));
}

TEST_F(CliErrorsTest, UmountLeavesOtherFilesystemsAlone) {
  const std::string tmpfs = T("tmpfs");
  MV_ASSERT_SYS(::mkdir(tmpfs.c_str(), 0755));
  const CliResult mount = RunCommand({"mount", "-t", "tmpfs", "none", tmpfs});
  if (!mount.ok()) GTEST_SKIP() << "cannot mount a tmpfs here: " << mount.Describe();
  EXPECT_TRUE(FailedCleanly(RunCli({"umount", tmpfs})));
  EXPECT_TRUE(IsMountPoint(tmpfs)) << "modelvault umount unmounted a tmpfs";
  RunCommand({"umount", tmpfs});
}

TEST_F(CliErrorsTest, UmountOfSomethingNotMounted) {
  EXPECT_TRUE(FailedCleanly(RunCli({"umount", mountpoint()})));
  EXPECT_TRUE(FailedCleanly(RunCli({"umount", T("no-such-dir")})));
  ASSERT_TRUE(Mount());
  ASSERT_TRUE(Unmount());
  EXPECT_TRUE(FailedCleanly(RunCli({"umount", mountpoint()}))) << "second umount";
}

}  // namespace
}  // namespace modelvault::fs::test
