// `modelvault status` on a mount that checks signed directories: a signed directory is
// listed once a file in it has been opened, with its manifest version and signing key, and
// a block changed in the backing file counts as one failed block check (not as a block
// failing authentication: the Merkle leaf is checked first).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

using nlohmann::json;
constexpr size_t kBlock = 4096, kStored = kBlock + 28, kHeader = 32;

class SignedStatusTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = true}; }

  std::string BackingOf(const std::string& path) {
    char buf[4096];
    ssize_t n = ::getxattr(path.c_str(), "user.modelvault.backing", buf, sizeof(buf));
    EXPECT_GT(n, 0) << path;
    return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
  }
  json Status() {
    CliResult r = RunCli({"status", mountpoint(), "--json"});
    EXPECT_TRUE(r.ok()) << r.Describe();
    json s = json::parse(r.out, nullptr, false);
    return s.is_object() ? s : json();
  }
  static int DirectRead(const std::string& path, off_t offset) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECT));
    if (!fd.valid()) return errno;
    void* buf = std::aligned_alloc(kBlock, kBlock);
    ssize_t n = ::pread(fd.get(), buf, kBlock, offset);
    int err = n < 0 ? errno : 0;
    std::free(buf);
    return err;
  }
};

TEST_F(SignedStatusTest, ListsLoadedSignedDirectoriesAndCountsFailedBlockChecks) {
  ASSERT_TRUE(RunCli({"signing-key", "generate", T("pub.key"), T("pub.pem")}).ok());
  ASSERT_EQ(::mkdir(M("m1").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile(M("m1/weights.bin"), PatternBytes(1, 3 * kBlock)), 0);
  CliResult sign = RunCli({"sign", M("m1"), "--signing-key", T("pub.key")});
  ASSERT_TRUE(sign.ok()) << sign.Describe();
  const std::string dir = BackingOf(M("m1"));
  const std::string file = BackingOf(M("m1/weights.bin"));
  ASSERT_TRUE(Unmount());
  {
    Fd fd(::open(B(file).c_str(), O_RDWR));
    ASSERT_TRUE(fd.valid()) << B(file);
    int err = 0;
    std::string byte = PreadAll(fd.get(), 1, kHeader + kStored + 50, &err);
    ASSERT_EQ(byte.size(), 1u);
    byte[0] = static_cast<char>(byte[0] ^ 0x01);
    ASSERT_EQ(PwriteAll(fd.get(), byte, kHeader + kStored + 50), 0);
  }

  ASSERT_TRUE(Mount({"--read-only", "--trust", T("pub.pem")}));
  json s = Status();
  ASSERT_FALSE(s.is_null());
  EXPECT_EQ(s["signed_directory_count"], 0);
  ASSERT_EQ(s["signatures"]["trusted_keys"].size(), 1u);
  const std::string key_id = s["signatures"]["trusted_keys"][0];
  EXPECT_TRUE(key_id.starts_with("sha256:")) << key_id;

  EXPECT_EQ(DirectRead(M("m1/weights.bin"), 0), 0);
  EXPECT_EQ(DirectRead(M("m1/weights.bin"), kBlock), EIO);
  s = Status();
  ASSERT_FALSE(s.is_null());
  EXPECT_EQ(s["signed_directory_count"], 1);
  ASSERT_EQ(s["signed_directories"].size(), 1u);
  const json& d = s["signed_directories"][0];
  EXPECT_EQ(d["path"], dir);
  EXPECT_EQ(d["version"], 1);
  EXPECT_EQ(d["key_id"], key_id);
  EXPECT_EQ(d["valid"], true);
  EXPECT_EQ(s["counters"]["signature_failures"]["block"], 1);
  EXPECT_EQ(s["counters"]["auth_failures"], 0);

  CliResult text = RunCli({"status", mountpoint()});
  EXPECT_NE(text.out.find(dir), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("signature failures:"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("(block 1)"), std::string::npos) << text.out;
}

}  // namespace
}  // namespace modelvault::fs::test
