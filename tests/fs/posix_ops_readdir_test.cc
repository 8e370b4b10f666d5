// Directory listings of a mounted store: a 3000-entry directory (with some long names, so
// some entries come from sidecar files) listed with a plain readdir() loop, every name
// exactly once, before and after a remount and after removals; and a directory emptied
// while it is being listed, as `rm -r` does.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

using PosixReaddirTest = MountFixture;

// Lists `dir` with readdir() and checks every name in `want` comes back exactly once with a
// d_type that is either DT_UNKNOWN or right, and nothing else but "." and "..".
void ExpectListing(const std::string& dir, const std::map<std::string, unsigned char>& want) {
  DIR* d = ::opendir(dir.c_str());
  ASSERT_NE(d, nullptr) << ErrnoName(errno);
  std::map<std::string, int> seen;
  while (true) {
    errno = 0;
    const struct dirent* e = ::readdir(d);
    if (e == nullptr) {
      EXPECT_EQ(errno, 0) << "readdir: " << ErrnoName(errno);
      break;
    }
    const std::string name = e->d_name;
    ++seen[name];
    const auto it = want.find(name);
    if (it != want.end() && e->d_type != DT_UNKNOWN) {
      EXPECT_EQ(e->d_type, it->second) << "d_type of " << name;
    }
  }
  ::closedir(d);
  EXPECT_EQ(seen["."], 1);
  EXPECT_EQ(seen[".."], 1);
  seen.erase(".");
  seen.erase("..");
  size_t missing = 0, duplicated = 0, unexpected = 0;
  for (const auto& [name, type] : want) {
    const auto it = seen.find(name);
    if (it == seen.end()) {
      if (++missing <= 5) ADD_FAILURE() << "readdir of " << dir << " misses " << name;
    } else if (it->second != 1) {
      if (++duplicated <= 5) ADD_FAILURE() << name << " returned " << it->second << " times";
    }
  }
  for (const auto& [name, count] : seen) {
    if (!want.contains(name) && ++unexpected <= 5) ADD_FAILURE() << "unexpected " << name;
  }
  EXPECT_EQ(missing + duplicated + unexpected, 0u)
      << missing << " missing, " << duplicated << " duplicated, " << unexpected << " unexpected";
}

TEST_F(PosixReaddirTest, ReaddirOf3000EntriesReturnsEachOnce) {
  MV_ASSERT_SYS(::mkdir(M("big").c_str(), 0755));
  std::map<std::string, unsigned char> want;
  for (int i = 0; i < 3000; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "entry-%04d", i);
    std::string n = name;
    if (i % 500 == 7) n += std::string(200, static_cast<char>('a' + i % 26));  // long names
    if (i % 100 == 3) {
      MV_ASSERT_SYS(::mkdir(M("big/" + n).c_str(), 0755));
      want[n] = DT_DIR;
    } else {
      Fd fd(::open(M("big/" + n).c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644));
      MV_ASSERT_SYS(fd.get());
      want[n] = DT_REG;
    }
  }
  ExpectListing(M("big"), want);
  ASSERT_TRUE(Remount());
  ExpectListing(M("big"), want);
  // Remove every other entry and list again.
  for (auto it = want.begin(); it != want.end();) {
    const std::string path = M("big/" + it->first);
    if (std::hash<std::string>{}(it->first) % 2 == 0) {
      MV_ASSERT_SYS(it->second == DT_DIR ? ::rmdir(path.c_str()) : ::unlink(path.c_str()));
      it = want.erase(it);
    } else {
      ++it;
    }
  }
  ExpectListing(M("big"), want);
}

TEST_F(PosixReaddirTest, UnlinkingWhileListingRemovesEverything) {
  // Entries not changed during a listing must each be returned once, so unlinking every
  // returned name in one pass empties the directory.
  MV_ASSERT_SYS(::mkdir(M("d").c_str(), 0755));
  for (int i = 0; i < 1500; ++i) {
    std::string name = "n" + std::to_string(i);
    if (i % 300 == 1) name += std::string(220, 'q');
    ASSERT_EQ(WriteFile(M("d/" + name), ""), 0);
  }
  ASSERT_TRUE(Remount());
  DIR* d = ::opendir(M("d").c_str());
  ASSERT_NE(d, nullptr) << ErrnoName(errno);
  int removed = 0;
  while (const struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    EXPECT_EQ(::unlink(M("d/" + name).c_str()), 0) << name << ": " << ErrnoName(errno);
    ++removed;
  }
  ::closedir(d);
  EXPECT_EQ(removed, 1500);
  EXPECT_TRUE(ListDir(M("d")).empty());
  MV_EXPECT_SYS(::rmdir(M("d").c_str()));
}

}  // namespace
}  // namespace modelvault::fs::test
