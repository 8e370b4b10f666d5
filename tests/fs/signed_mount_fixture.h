// SignedMountTest: what the signed-directory tests start from. A store of 4 KiB blocks,
// two publisher key pairs made by `modelvault signing-key generate` (T("pub.key") with
// T("pub.pem"), and T("other.key") with T("other.pem")), and the store mounted read-write.
#pragma once

#include <sys/xattr.h>

#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {

class SignedMountTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = false}; }

  void SetUp() override {
    MountFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(RunCli({"signing-key", "generate", T("pub.key"), T("pub.pem")}).ok());
    ASSERT_TRUE(RunCli({"signing-key", "generate", T("other.key"), T("other.pem")}).ok());
    ASSERT_TRUE(Mount());
  }

  // The backing path of an object in the mount, from the daemon's control attribute.
  std::string BackingOf(const std::string& path) {
    char buf[4096];
    ssize_t n = ::getxattr(path.c_str(), "user.modelvault.backing", buf, sizeof(buf));
    EXPECT_GT(n, 0) << path;
    return backing() + "/" + std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
  }
};

}  // namespace modelvault::fs::test
