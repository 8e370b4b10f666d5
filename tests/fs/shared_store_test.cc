// One store, two mounts: the read-write mount and a read-only mount beside it (a serving
// host next to the release engineer's mount). Read-only mounts may cache names and
// attributes for their timeout (10 s), but once that has passed they must show what the
// read-write mount wrote: new content of an existing file (same size, so only the
// modification time tells), new files, removed files.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

// The read-only mount's entry and attribute timeout, plus a margin.
constexpr auto kReadOnlyCacheTime = std::chrono::seconds(11);

class SharedStoreTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = true}; }
};

TEST_F(SharedStoreTest, ReadOnlyMountSeesWritesAfterItsCacheTimeout) {
  const std::string ro = T("ro");
  MV_ASSERT_SYS(::mkdir(ro.c_str(), 0755));
  const std::string before = PatternBytes(1, 3 * 4096 + 100);
  const std::string after = PatternBytes(2, before.size());
  ASSERT_EQ(WriteFile(M("model"), before), 0);
  ASSERT_EQ(WriteFile(M("old"), "old"), 0);
  ASSERT_TRUE(Mount(backing(), ro, keyfile(), {"--read-only"}));
  // Read everything once, so the read-only mount has it all in its caches.
  EXPECT_TRUE(FileHolds(ro + "/model", before));
  EXPECT_TRUE(FileHolds(ro + "/old", "old"));
  int err = 0;
  EXPECT_FALSE(Lstat(ro + "/new", &err).has_value());

  {
    Fd fd(::open(M("model").c_str(), O_WRONLY));
    MV_ASSERT_SYS(fd.get());
    ASSERT_EQ(PwriteAll(fd.get(), after, 0), 0);
    MV_ASSERT_SYS(::fsync(fd.get()));
  }
  ASSERT_EQ(WriteFile(M("new"), "new"), 0);
  MV_ASSERT_SYS(::unlink(M("old").c_str()));
  std::this_thread::sleep_for(kReadOnlyCacheTime);

  EXPECT_TRUE(FileHolds(ro + "/model", after)) << "the read-only mount serves stale pages";
  EXPECT_TRUE(FileHolds(ro + "/new", "new"));
  EXPECT_FALSE(Lstat(ro + "/old", &err).has_value()) << "a removed file is still there";
  const std::vector<std::string> names = ListDir(ro);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()),
            (std::set<std::string>{"model", "new"}));
  ASSERT_TRUE(Unmount(ro));
}

}  // namespace
}  // namespace modelvault::fs::test
