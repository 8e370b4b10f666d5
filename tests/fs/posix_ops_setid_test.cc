// Set-user-ID and set-group-ID bits on a mounted store, cleared where a local Linux
// filesystem clears them: a write, a truncate or an O_TRUNC open by a user without
// CAP_FSETID clears set-user-ID, and set-group-ID where group execute is set. Root keeps
// them. The other user is a real process under another uid, admitted by the access gate.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"
#include "tests/fs/run_as.h"

namespace modelvault::fs::test {
namespace {

const Identity kOther{41001, 41001, {}};

class PosixSetIdTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = false}; }

  void SetUp() override {
    MountFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // The other user must reach the mountpoint, and pass the mount root's mode.
    ASSERT_EQ(::chmod(root().c_str(), 0755), 0);
    ASSERT_TRUE(Mount(backing(), mountpoint(), keyfile(),
                      {"--allow-uid", "root", "--allow-uid", std::to_string(kOther.uid)}));
    ASSERT_EQ(::chmod(mountpoint().c_str(), 0755), 0);
  }

  // Creates `name` holding "abc" with exactly `mode`, owned by root.
  void MakeFile(const std::string& name, mode_t mode) {
    ASSERT_EQ(WriteFile(M(name), "abc", 0644), 0);
    MV_ASSERT_SYS(::chmod(M(name).c_str(), mode));
  }

  mode_t ModeOf(const std::string& name) { return Lstat(M(name))->st_mode & 07777; }
};

constexpr int kStillSet = 100;

// Writes one byte to `path` as `who`: 0 if the writer's own fstat then shows no set-id bit,
// kStillSet if it shows one, else an errno.
int WriteAs(const Identity& who, const std::string& path) {
  return RunAs(who, [&] {
    Fd fd(::open(path.c_str(), O_WRONLY));
    if (!fd.valid()) return errno;
    if (::write(fd.get(), "x", 1) != 1) return errno;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return errno;
    return (st.st_mode & (S_ISUID | S_ISGID)) == 0 ? 0 : kStillSet;
  });
}

TEST_F(PosixSetIdTest, WriteByAnotherUserClearsSetIdBits) {
  for (mode_t mode : {04777, 02777, 06777}) {
    SCOPED_TRACE(::testing::Message() << std::oct << mode);
    MakeFile("f", mode);
    EXPECT_EQ(WriteAs(kOther, M("f")), 0);
    EXPECT_EQ(ModeOf("f"), 0777u);
    MV_ASSERT_SYS(::unlink(M("f").c_str()));
  }
}

TEST_F(PosixSetIdTest, TruncateByAnotherUserClearsSetIdBits) {
  MakeFile("t", 06777);
  EXPECT_EQ(RunAs(kOther, [&] { return ::truncate(M("t").c_str(), 1) == 0 ? 0 : errno; }), 0);
  EXPECT_EQ(ModeOf("t"), 0777u);
  EXPECT_EQ(Lstat(M("t"))->st_size, 1);

  MakeFile("ft", 06777);
  EXPECT_EQ(RunAs(kOther,
                  [&] {
                    Fd fd(::open(M("ft").c_str(), O_WRONLY));
                    if (!fd.valid()) return errno;
                    return ::ftruncate(fd.get(), 1) == 0 ? 0 : errno;
                  }),
            0);
  EXPECT_EQ(ModeOf("ft"), 0777u);
}

// The kernel lets the open itself truncate, and so does not clear the bits on its own.
TEST_F(PosixSetIdTest, OTruncOpenByAnotherUserClearsSetIdBits) {
  MakeFile("ot", 06777);
  EXPECT_EQ(RunAs(kOther,
                  [&] {
                    Fd fd(::open(M("ot").c_str(), O_WRONLY | O_TRUNC));
                    return fd.valid() ? 0 : errno;
                  }),
            0);
  EXPECT_EQ(ModeOf("ot"), 0777u);
  EXPECT_EQ(Lstat(M("ot"))->st_size, 0);
}

TEST_F(PosixSetIdTest, RootKeepsSetIdBits) {
  MakeFile("r", 06777);
  {
    Fd fd(::open(M("r").c_str(), O_WRONLY));
    MV_ASSERT_SYS(fd.get());
    ASSERT_EQ(PwriteAll(fd.get(), "x", 0), 0);
    MV_ASSERT_SYS(::ftruncate(fd.get(), 2));
  }
  Fd trunc(::open(M("r").c_str(), O_WRONLY | O_TRUNC));
  MV_ASSERT_SYS(trunc.get());
  EXPECT_EQ(ModeOf("r"), 06777u);
}

}  // namespace
}  // namespace modelvault::fs::test
