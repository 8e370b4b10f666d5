// The kernel may keep far more inodes cached than the daemon may hold descriptors; a tree
// larger than the daemon's descriptor limit must still work.
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

class DescriptorLimitTest : public MountFixture {};

TEST_F(DescriptorLimitTest, MoreFilesThanTheDaemonHasDescriptors) {
  pid_t daemon = DaemonPid(mountpoint());
  ASSERT_GT(daemon, 0) << "no daemon found for " << mountpoint();
  struct rlimit low = {256, 256};
  ASSERT_EQ(::prlimit(daemon, RLIMIT_NOFILE, &low, nullptr), 0) << std::strerror(errno);

  MV_ASSERT_SYS(::mkdir(M("many").c_str(), 0755));
  constexpr int kFiles = 1500;
  for (int i = 0; i < kFiles; ++i) {
    const std::string path = M("many/f" + std::to_string(i));
    Fd fd(::open(path.c_str(), O_CREAT | O_WRONLY, 0644));
    MV_ASSERT_SYS(fd.get());
    ASSERT_EQ(::write(fd.get(), "x", 1), 1);
  }
  // Every one is still reachable while the kernel holds all of them.
  for (int i = 0; i < kFiles; ++i) {
    struct stat st;
    ASSERT_EQ(::stat(M("many/f" + std::to_string(i)).c_str(), &st), 0) << std::strerror(errno);
    ASSERT_EQ(st.st_size, 1);
  }
  std::set<std::string> names;
  DIR* dir = ::opendir(M("many").c_str());
  ASSERT_NE(dir, nullptr);
  while (dirent* e = ::readdir(dir)) names.insert(e->d_name);
  ::closedir(dir);
  EXPECT_EQ(names.size(), static_cast<size_t>(kFiles) + 2);
}

}  // namespace
}  // namespace modelvault::fs::test
