// DiffRunner: applies one random sequence of filesystem operations to two trees at once,
// a directory inside the mount and a plain directory on the backing filesystem, and
// compares every result (return value, errno, bytes read, attributes), and every
// `check_every` operations the whole tree.
//
// The sequence depends only on the seed and the plain tree's state, so a seed replays the
// same operations; on the first mismatch Run() stops and reports the seed, the operation's
// index and the tail of the operation log. One runner per thread; runners on disjoint
// subdirectories may run concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace modelvault::fs::test {

struct DiffConfig {
  uint64_t seed = 1;
  int ops = 3000;
  uint64_t block_size = 4096;  // scales offsets and lengths
  bool mmap_ops = false;       // also mmap reads and MAP_SHARED writes
  int check_every = 300;       // compare the whole tree this often
  int remount_every = 1000;    // close all files and remount this often (if Run() can)
  std::string subdir;          // work below this directory of both roots ("": the roots)
  // Every name this runner creates starts with this, and at the top level it ignores
  // names that do not: runners with different prefixes can share one directory.
  std::string name_prefix;
};

class DiffRunner {
 public:
  DiffRunner(std::string mount_root, std::string plain_root, DiffConfig config);
  ~DiffRunner();
  DiffRunner(const DiffRunner&) = delete;
  DiffRunner& operator=(const DiffRunner&) = delete;

  // Runs config.ops operations; "" on success, else a report for reproduction. With
  // `remount` (which returns "" or why it failed), every config.remount_every operations
  // all files are closed and the mount is remounted, so that what only the kernel's caches
  // held shows.
  std::string Run(const std::function<std::string()>& remount = {});
  // Closes every descriptor left open (needed before the mount can be unmounted).
  void CloseAll();
  // Operation counts and the plain tree's size; call from the thread that ran Run().
  std::string Summary();
  // Compares the runner's whole subtree now; "" or a report.
  std::string CheckTree(const std::string& when);

 private:
  struct OpenFile {
    int m = -1;
    int p = -1;
    int id = 0;
    std::string desc;
  };
  struct Entry {
    std::string rel;
    char type;  // 'f' file, 'd' dir, 'l' symlink, '?' other
  };
  using Op = std::string (DiffRunner::*)();

  // Random choices.
  uint64_t Uniform(uint64_t lo, uint64_t hi);  // inclusive
  bool Chance(double p);
  std::string RandomName();
  void Scan();
  std::string PickExisting(const std::string& types = "");
  std::string PickNew();
  std::string PickPath();
  OpenFile* PickFile();
  uint64_t PlainSize(const OpenFile& f);
  uint64_t RandomLength();
  uint64_t RandomOffset(uint64_t size);

  std::string Mp(const std::string& rel) const;  // path in the mount
  std::string Pp(const std::string& rel) const;  // path in the plain tree
  std::string Report(const std::string& what) const;

  // Operations: each sets desc_ and returns "" or the mismatch.
  std::string OpOpen();
  std::string OpClose();
  std::string OpWrite();
  std::string OpPwrite();
  std::string OpRead();
  std::string OpPread();
  std::string OpLseek();
  std::string OpFtruncate();
  std::string OpTruncate();
  std::string OpFsync();
  std::string OpFstat();
  std::string OpMkdir();
  std::string OpRmdir();
  std::string OpUnlink();
  std::string OpRename();
  std::string OpLink();
  std::string OpSymlink();
  std::string OpReadlink();
  std::string OpChmod();
  std::string OpChown();
  std::string OpUtimens();
  std::string OpStat();
  std::string OpReaddir();
  std::string OpMmapRead();
  std::string OpMmapWrite();

  const std::string mount_base_;
  const std::string plain_base_;
  const DiffConfig config_;
  std::mt19937_64 rng_;
  std::vector<std::pair<int, Op>> ops_;  // weight, operation
  std::vector<Entry> entries_;           // of the plain tree, refreshed before each op
  std::vector<OpenFile> files_;
  std::vector<std::string> log_;
  std::string desc_;
  int op_index_ = 0;
  int next_file_id_ = 0;
  uint64_t ok_at_start_ = 0;
  uint64_t failed_at_start_ = 0;
};

}  // namespace modelvault::fs::test
