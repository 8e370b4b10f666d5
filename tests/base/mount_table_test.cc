#include "base/mount_table.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <string>

namespace modelvault {
namespace {

TEST(MountTableTest, FindsProcWithItsDevice) {
  auto proc = FindMount("/proc");
  ASSERT_TRUE(proc.has_value());
  EXPECT_EQ(proc->fstype, "proc");
  struct stat st;
  ASSERT_EQ(stat("/proc", &st), 0);
  EXPECT_EQ(proc->device,
            std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)));
}

TEST(MountTableTest, AnOrdinaryDirectoryIsNoMount) {
  EXPECT_FALSE(FindMount("/proc/self/fd").has_value());
  EXPECT_FALSE(FindMount("/no/such/mount/point").has_value());
}

TEST(MountTableTest, ReadOnlyComesFromTheOptions) {
  MountEntry e;
  e.options = "rw,nosuid,nodev";
  EXPECT_FALSE(e.read_only());
  e.options = "ro,relatime";
  EXPECT_TRUE(e.read_only());
  e.options = "rw,errors=remount-ro";
  EXPECT_FALSE(e.read_only());
}

}  // namespace
}  // namespace modelvault
