// `modelvault verify` beyond intact signed directories: on a serving host whose mounts keep
// their rollback state in a file of their own (state_file: in the config), --state-file
// makes it consult that memory, so a validly signed but older manifest is refused there as
// the mounts refuse it; and a directory frozen without a manifest (a sign that never
// finished) is a problem, not something to pass over.
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cstdio>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

class SignedVerifyTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = true}; }
};

std::string Hex(const std::string& bytes) {
  std::string out;
  char buf[3];
  for (unsigned char c : bytes) {
    std::snprintf(buf, sizeof(buf), "%02x", c);
    out += buf;
  }
  return out;
}

TEST_F(SignedVerifyTest, AStateFileOfTheHostsMountsRefusesAnOlderManifest) {
  ASSERT_TRUE(RunCli({"signing-key", "generate", T("pub.key"), T("pub.pem")}).ok());
  ASSERT_EQ(::mkdir(M("m").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile(M("m/weights.bin"), PatternBytes(4, 5000)), 0);
  ASSERT_TRUE(RunCli({"sign", M("m"), "--signing-key", T("pub.key")}).ok());
  char name[4096];
  ssize_t n = ::getxattr(M("m").c_str(), "user.modelvault.backing", name, sizeof(name));
  ASSERT_GT(n, 0);
  const std::string dir = backing() + "/" + std::string(name, static_cast<size_t>(n));
  ASSERT_TRUE(Unmount());

  // The host's mounts have accepted version 3 of this directory (the signed one is 1).
  auto header = ReadFile(backing() + "/modelvault.json");
  auto dir_id = ReadFile(dir + "/.mvdir");
  ASSERT_TRUE(header.has_value() && dir_id.has_value());
  const std::string field = "\"volume_id\": \"";
  size_t at = header->find(field);
  ASSERT_NE(at, std::string::npos);
  const std::string volume = header->substr(at + field.size(), 32);
  ASSERT_EQ(
      WriteFile(T("host-state.json"), "{\"manifest:" + volume + ":" + Hex(*dir_id) + "\": 3}\n"),
      0);

  CliResult fresh = RunCli({"verify", backing(), "--trust", T("pub.pem")});
  EXPECT_TRUE(fresh.ok()) << fresh.Describe();
  CliResult remembered =
      RunCli({"verify", backing(), "--trust", T("pub.pem"), "--state-file", T("host-state.json")});
  EXPECT_TRUE(FailedCleanly(remembered, "older than version 3")) << remembered.Describe();
}

TEST_F(SignedVerifyTest, ADirectoryFrozenWithoutAManifestIsAProblem) {
  ASSERT_TRUE(RunCli({"signing-key", "generate", T("pub.key"), T("pub.pem")}).ok());
  ASSERT_EQ(::mkdir(M("m").c_str(), 0755), 0);
  // What `sign` asks the daemon for first; it writes the manifest last.
  ASSERT_EQ(::setxattr(M("m").c_str(), "user.modelvault.freeze", "1", 1, 0), 0);
  CliResult verify = RunCli({"verify", backing(), "--trust", T("pub.pem")});
  EXPECT_TRUE(FailedCleanly(verify, "frozen but not signed")) << verify.Describe();
  EXPECT_NE(verify.out.find("did not finish"), std::string::npos) << verify.out;
}

}  // namespace
}  // namespace modelvault::fs::test
