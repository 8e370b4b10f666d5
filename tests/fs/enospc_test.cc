// Running out of space in the backing filesystem must fail the write and lose nothing that
// was stored before: the block being extended is re-sealed only once its space is reserved.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

class EnospcTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 16384, .mount = false}; }
  // The store on the small filesystem, then the small filesystem, go before the fixture
  // removes its directory, also when the test failed half way.
  void TearDown() override {
    if (IsMountPoint(T("mp"))) (void)Unmount(T("mp"));
    if (IsMountPoint(T("small"))) ::umount2(T("small").c_str(), MNT_DETACH);
    MountFixture::TearDown();
  }
};

TEST_F(EnospcTest, FullBackingFailsTheWriteAndKeepsStoredBytes) {
  const std::string small = T("small");
  ASSERT_EQ(::mkdir(small.c_str(), 0700), 0);
  ASSERT_EQ(::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=2m"), 0) << std::strerror(errno);
  const std::string store = small + "/store";
  const std::string mp = T("mp");
  ASSERT_EQ(::mkdir(mp.c_str(), 0700), 0);
  ASSERT_TRUE(Init(store, keyfile(), 16384).ok());
  ASSERT_TRUE(Mount(store, mp, keyfile()));

  const std::string file = mp + "/f";
  const std::string stored(96, 'A');
  {
    Fd fd(::open(file.c_str(), O_CREAT | O_RDWR, 0644));
    MV_ASSERT_SYS(fd.get());
    ASSERT_EQ(::write(fd.get(), stored.data(), stored.size()), 96);
    MV_ASSERT_SYS(::fsync(fd.get()));
    // Fill the backing filesystem up to its last few KiB.
    const std::string filler = small + "/filler";
    {
      Fd ff(::open(filler.c_str(), O_CREAT | O_WRONLY, 0600));
      std::string chunk(65536, 'x');
      while (::write(ff.get(), chunk.data(), chunk.size()) > 0) {
      }
    }
    struct stat st;
    ASSERT_EQ(::stat(filler.c_str(), &st), 0);
    ASSERT_EQ(::truncate(filler.c_str(), st.st_size - 8192), 0);
    const std::string big(200000, 'B');
    ssize_t n = ::pwrite(fd.get(), big.data(), big.size(), 96);
    int rc = n < 0 ? -1 : ::fsync(fd.get());
    EXPECT_TRUE(n < 0 || rc != 0) << "a 200 KB append into 8 KiB of space succeeded";
  }
  ASSERT_TRUE(Unmount(mp));
  ASSERT_TRUE(Mount(store, mp, keyfile()));
  int err = 0;
  auto back = ReadFile(file, &err);
  ASSERT_TRUE(back.has_value()) << "the file became unreadable: " << std::strerror(err);
  ASSERT_GE(back->size(), 96u);
  EXPECT_EQ(back->substr(0, 96), stored);
  ASSERT_TRUE(Unmount(mp));
}

}  // namespace
}  // namespace modelvault::fs::test
