// fsbench: one file-system workload per invocation, timed with clock_gettime(CLOCK_MONOTONIC)
// around a single loop, so each number bench/run_bench.sh reports has one plain meaning.
//
//   fsbench write FILE SIZE_MB [REQ_KB]      sequential write(2) of REQ_KB pieces + fsync -> MB/s
//   fsbench read FILE [REQ_KB]               sequential read(2) of REQ_KB pieces to EOF  -> MB/s
//   fsbench randread FILE COUNT [SEED]       COUNT pread(2)s of 4 KiB at random aligned
//                                            offsets (POSIX_FADV_RANDOM: no readahead)   -> IOPS
//   fsbench mmap FILE                        mmap the file, touch one byte per page      -> MB/s
//   fsbench tree-create DIR FILES DIRS KB    DIRS directories holding FILES files of KB
//                                            each: mkdir, creat, write, close            -> files/s
//   fsbench tree-read DIR                    readdir every directory, open/read/close
//                                            every file                                  -> files/s
//   fsbench tree-delete DIR                  unlink every file, rmdir every dir          -> files/s
//
// MB is 10^6 bytes. stdout gets one line, "RESULT CPU": the result, and the CPU seconds
// (user + system) this process used, which includes the kernel's side of every FUSE
// request it made; a human-readable line with the elapsed time goes to stderr. Any failed system
// call exits with status 1. The tree workloads do not sync: the machine's other dirty data would
// land in the timing (sync() and syncfs() flush a whole file system), and every FUSE daemon here
// writes to the backing file system's page cache too. Caches are the caller's business: the "cold"
// workloads expect the caller to have run `sync; echo 3 > /proc/sys/vm/drop_caches` just before.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fsbench: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: fsbench write FILE SIZE_MB [REQ_KB]\n"
               "       fsbench read FILE [REQ_KB]\n"
               "       fsbench randread FILE COUNT [SEED]\n"
               "       fsbench mmap FILE\n"
               "       fsbench tree-create DIR FILES DIRS KB\n"
               "       fsbench tree-read DIR\n"
               "       fsbench tree-delete DIR\n");
  std::exit(2);
}

uint64_t ParseNumber(const char* s) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v == 0) {
    std::fprintf(stderr, "fsbench: not a positive number: %s\n", s);
    std::exit(2);
  }
  return v;
}

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double Seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
}

// Prints `value` (the result) and the CPU time used to stdout, a description to stderr.
void Report(const char* what, double value, const char* unit, double seconds) {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  std::printf("%.1f %.3f\n", value, Seconds(ru.ru_utime) + Seconds(ru.ru_stime));
  std::fprintf(stderr, "fsbench %s: %.1f %s (%.3f s)\n", what, value, unit, seconds);
}

// Incompressible, reproducible bytes, so no layer can shortcut zeros.
std::vector<uint8_t> PatternBuffer(size_t size, uint64_t seed) {
  std::vector<uint8_t> buf(size);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i + 8 <= size; i += 8) {
    uint64_t v = rng();
    std::memcpy(buf.data() + i, &v, 8);
  }
  return buf;
}

void WriteFull(int fd, const uint8_t* data, size_t size, const std::string& what) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Die("write " + what);
    data += n;
    size -= static_cast<size_t>(n);
  }
}

int OpenRead(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Die("open " + path);
  return fd;
}

uint64_t FileSize(int fd, const std::string& path) {
  struct stat st;
  if (fstat(fd, &st) != 0) Die("stat " + path);
  return static_cast<uint64_t>(st.st_size);
}

int Write(const std::string& path, uint64_t size_mb, uint64_t req_kb) {
  const size_t req = req_kb * 1024;
  const uint64_t total = size_mb << 20;
  std::vector<uint8_t> buf = PatternBuffer(req, 1);
  double t0 = Now();
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Die("create " + path);
  for (uint64_t done = 0; done < total;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(req, total - done));
    buf[0] = static_cast<uint8_t>(done >> 20);  // each piece differs from the one before
    WriteFull(fd, buf.data(), n, path);
    done += n;
  }
  if (fsync(fd) != 0) Die("fsync " + path);
  if (close(fd) != 0) Die("close " + path);
  double s = Now() - t0;
  Report("write", static_cast<double>(total) / s / 1e6, "MB/s", s);
  return 0;
}

int Read(const std::string& path, uint64_t req_kb) {
  std::vector<uint8_t> buf(req_kb * 1024);
  double t0 = Now();
  int fd = OpenRead(path);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) Die("read " + path);
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
  }
  close(fd);
  double s = Now() - t0;
  Report("read", static_cast<double>(total) / s / 1e6, "MB/s", s);
  return 0;
}

int RandRead(const std::string& path, uint64_t count, uint64_t seed) {
  constexpr uint64_t kPage = 4096;
  int fd = OpenRead(path);
  uint64_t pages = FileSize(fd, path) / kPage;
  if (pages == 0) Die("randread needs a file of at least 4096 bytes: " + path);
  // Without this the kernel reads ahead around each miss and the test measures that instead.
  posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint64_t> pick(0, pages - 1);
  std::vector<uint64_t> offsets(count);
  for (auto& o : offsets) o = pick(rng) * kPage;
  alignas(4096) static uint8_t buf[kPage];
  double t0 = Now();
  for (uint64_t o : offsets) {
    ssize_t n = pread(fd, buf, kPage, static_cast<off_t>(o));
    if (n != static_cast<ssize_t>(kPage)) Die("pread " + path);
  }
  double s = Now() - t0;
  close(fd);
  Report("randread", static_cast<double>(count) / s, "IOPS", s);
  return 0;
}

int Mmap(const std::string& path) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  double t0 = Now();
  int fd = OpenRead(path);
  size_t size = static_cast<size_t>(FileSize(fd, path));
  void* map = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) Die("mmap " + path);
  const volatile uint8_t* p = static_cast<const uint8_t*>(map);
  uint64_t sum = 0;
  for (size_t off = 0; off < size; off += page) sum += p[off];
  munmap(map, size);
  close(fd);
  double s = Now() - t0;
  std::fprintf(stderr, "fsbench mmap: byte sum %llu\n", static_cast<unsigned long long>(sum));
  Report("mmap", static_cast<double>(size) / s / 1e6, "MB/s", s);
  return 0;
}

std::string DirName(const std::string& root, uint64_t d) {
  char name[32];
  std::snprintf(name, sizeof(name), "/d%03llu", static_cast<unsigned long long>(d));
  return root + name;
}

int TreeCreate(const std::string& root, uint64_t files, uint64_t dirs, uint64_t kb) {
  std::vector<uint8_t> buf = PatternBuffer(kb * 1024, 2);
  double t0 = Now();
  if (mkdir(root.c_str(), 0755) != 0 && errno != EEXIST) Die("mkdir " + root);
  for (uint64_t d = 0; d < dirs; ++d) {
    if (mkdir(DirName(root, d).c_str(), 0755) != 0) Die("mkdir " + DirName(root, d));
  }
  for (uint64_t i = 0; i < files; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "/f%06llu", static_cast<unsigned long long>(i));
    std::string path = DirName(root, i % dirs) + name;
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) Die("create " + path);
    buf[0] = static_cast<uint8_t>(i);
    WriteFull(fd, buf.data(), buf.size(), path);
    if (close(fd) != 0) Die("close " + path);
  }
  double s = Now() - t0;
  Report("tree-create", static_cast<double>(files) / s, "files/s", s);
  return 0;
}

// Calls fn(dir_path, entry_name) for every entry of every subdirectory of root, then
// fn_dir(dir_path) for each subdirectory. Returns the number of files seen.
template <typename FileFn, typename DirFn>
uint64_t WalkTree(const std::string& root, FileFn fn, DirFn fn_dir) {
  std::vector<std::string> subdirs;
  DIR* top = opendir(root.c_str());
  if (top == nullptr) Die("opendir " + root);
  while (dirent* e = readdir(top)) {
    if (e->d_name[0] != '.') subdirs.push_back(root + "/" + e->d_name);
  }
  closedir(top);
  uint64_t files = 0;
  for (const auto& dir : subdirs) {
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) Die("opendir " + dir);
    std::vector<std::string> names;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    }
    closedir(d);
    for (const auto& n : names) fn(dir + "/" + n);
    files += names.size();
    fn_dir(dir);
  }
  return files;
}

int TreeRead(const std::string& root) {
  std::vector<uint8_t> buf(1 << 16);
  uint64_t bytes = 0;
  double t0 = Now();
  uint64_t files = WalkTree(
      root,
      [&](const std::string& path) {
        int fd = OpenRead(path);
        for (;;) {
          ssize_t n = read(fd, buf.data(), buf.size());
          if (n < 0) Die("read " + path);
          if (n == 0) break;
          bytes += static_cast<uint64_t>(n);
        }
        close(fd);
      },
      [](const std::string&) {});
  double s = Now() - t0;
  std::fprintf(stderr, "fsbench tree-read: %llu bytes\n", static_cast<unsigned long long>(bytes));
  Report("tree-read", static_cast<double>(files) / s, "files/s", s);
  return 0;
}

int TreeDelete(const std::string& root) {
  double t0 = Now();
  uint64_t files = WalkTree(
      root,
      [](const std::string& path) {
        if (unlink(path.c_str()) != 0) Die("unlink " + path);
      },
      [](const std::string& dir) {
        if (rmdir(dir.c_str()) != 0) Die("rmdir " + dir);
      });
  if (rmdir(root.c_str()) != 0) Die("rmdir " + root);
  double s = Now() - t0;
  Report("tree-delete", static_cast<double>(files) / s, "files/s", s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) Usage();
  const std::string cmd = argv[1];
  const std::string path = argv[2];
  auto arg = [&](int i, uint64_t fallback) { return argc > i ? ParseNumber(argv[i]) : fallback; };
  if (cmd == "write" && argc >= 4) return Write(path, ParseNumber(argv[3]), arg(4, 1024));
  if (cmd == "read") return Read(path, arg(3, 1024));
  if (cmd == "randread" && argc >= 4) return RandRead(path, ParseNumber(argv[3]), arg(4, 42));
  if (cmd == "mmap") return Mmap(path);
  if (cmd == "tree-create" && argc >= 6) {
    return TreeCreate(path, ParseNumber(argv[3]), ParseNumber(argv[4]), ParseNumber(argv[5]));
  }
  if (cmd == "tree-read") return TreeRead(path);
  if (cmd == "tree-delete") return TreeDelete(path);
  Usage();
}
