// DiffRunner's operations on names and attributes, and its mmap operations.
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "tests/fs/differential_internal.h"
#include "tests/fs/differential_ops.h"
#include "tests/fs/differential_tree.h"
#include "tests/fs/fs_test_util.h"

namespace modelvault::fs::test {

std::string SameStat(const struct stat& m, const struct stat& p, const std::string& what) {
  const bool is_dir = S_ISDIR(p.st_mode);
  if (m.st_mode == p.st_mode && m.st_uid == p.st_uid && m.st_gid == p.st_gid &&
      m.st_nlink == p.st_nlink && (is_dir || m.st_size == p.st_size)) {
    return "";
  }
  std::ostringstream s;
  s << what << ": mount has mode=0" << std::oct << m.st_mode << std::dec << " uid=" << m.st_uid
    << " gid=" << m.st_gid << " nlink=" << m.st_nlink << " size=" << m.st_size
    << "; plain has mode=0" << std::oct << p.st_mode << std::dec << " uid=" << p.st_uid
    << " gid=" << p.st_gid << " nlink=" << p.st_nlink << " size=" << p.st_size;
  return s.str();
}

std::string DiffRunner::OpTruncate() {
  const std::string rel = Chance(0.7) ? PickExisting("f") : PickPath();
  const auto size = static_cast<off_t>(Uniform(0, 4 * config_.block_size));
  desc_ = "truncate " + rel + " " + std::to_string(size);
  const std::string diff =
      Differ(Sys(::truncate(Mp(rel).c_str(), size)), Sys(::truncate(Pp(rel).c_str(), size)));
  return diff.empty() ? "" : "truncate: " + diff;
}

std::string DiffRunner::OpMkdir() {
  const std::string rel = Chance(0.8) ? PickNew() : PickPath();
  static const mode_t kModes[] = {0755, 0700, 0750, 0711};
  const mode_t mode = kModes[Uniform(0, 3)];
  desc_ = "mkdir " + rel;
  const std::string diff =
      Differ(Sys(::mkdir(Mp(rel).c_str(), mode)), Sys(::mkdir(Pp(rel).c_str(), mode)));
  return diff.empty() ? "" : "mkdir: " + diff;
}

std::string DiffRunner::OpRmdir() {
  const std::string rel = Chance(0.7) ? PickExisting("d") : PickPath();
  desc_ = "rmdir " + rel;
  const std::string diff =
      Differ(Sys(::rmdir(Mp(rel).c_str())), Sys(::rmdir(Pp(rel).c_str())), true);
  return diff.empty() ? "" : "rmdir: " + diff;
}

std::string DiffRunner::OpUnlink() {
  const std::string rel = Chance(0.75) ? PickExisting("fl?") : PickPath();
  desc_ = "unlink " + rel;
  const std::string diff = Differ(Sys(::unlink(Mp(rel).c_str())), Sys(::unlink(Pp(rel).c_str())));
  return diff.empty() ? "" : "unlink: " + diff;
}

std::string DiffRunner::OpRename() {
  const std::string from = Chance(0.9) ? PickExisting() : PickPath();
  const std::string to = Chance(0.5) ? PickExisting() : PickNew();
  const uint64_t r = Uniform(0, 99);
  const unsigned flags = r < 80 ? 0 : r < 90 ? RENAME_NOREPLACE : RENAME_EXCHANGE;
  desc_ = "rename " + from + " -> " + to +
          (flags == RENAME_NOREPLACE  ? " NOREPLACE"
           : flags == RENAME_EXCHANGE ? " EXCHANGE"
                                      : "");
  const Outcome m = Sys(::renameat2(AT_FDCWD, Mp(from).c_str(), AT_FDCWD, Mp(to).c_str(), flags));
  const Outcome p = Sys(::renameat2(AT_FDCWD, Pp(from).c_str(), AT_FDCWD, Pp(to).c_str(), flags));
  const std::string diff = Differ(m, p, true);
  return diff.empty() ? "" : "rename: " + diff;
}

std::string DiffRunner::OpLink() {
  const std::string from = Chance(0.85) ? PickExisting("fl") : PickPath();
  const std::string to = Chance(0.85) ? PickNew() : PickExisting();
  desc_ = "link " + from + " -> " + to;
  const std::string diff = Differ(Sys(::link(Mp(from).c_str(), Mp(to).c_str())),
                                  Sys(::link(Pp(from).c_str(), Pp(to).c_str())));
  return diff.empty() ? "" : "link: " + diff;
}

std::string DiffRunner::OpSymlink() {
  std::string target;
  const uint64_t r = Uniform(0, 99);
  if (r < 40) {
    target = RandomName();
  } else if (r < 60) {
    target = PickExisting();
  } else if (r < 75) {
    target = "x/" + RandomName();
  } else if (r < 90) {  // long, several components, never ".."
    const uint64_t len = Uniform(50, 1000);
    while (target.size() < len)
      target += std::string(Uniform(1, 40), "abcxyz"[Uniform(0, 5)]) + "/";
  } else {
    target = "/nonexistent-mvdiff/" + RandomName();
  }
  const std::string rel = Chance(0.9) ? PickNew() : PickExisting();
  desc_ = "symlink " + rel + " -> \"" +
          (target.size() > 60 ? target.substr(0, 60) + "..." : target) + "\" (" +
          std::to_string(target.size()) + " bytes)";
  const std::string diff = Differ(Sys(::symlink(target.c_str(), Mp(rel).c_str())),
                                  Sys(::symlink(target.c_str(), Pp(rel).c_str())));
  return diff.empty() ? "" : "symlink: " + diff;
}

std::string DiffRunner::OpReadlink() {
  const std::string rel = Chance(0.8) ? PickExisting("l") : PickPath();
  desc_ = "readlink " + rel;
  char mb[8192], pb[8192];
  const Outcome m = Sys(::readlink(Mp(rel).c_str(), mb, sizeof mb));
  const Outcome p = Sys(::readlink(Pp(rel).c_str(), pb, sizeof pb));
  if (std::string diff = Differ(m, p); !diff.empty()) return "readlink: " + diff;
  if (m.rc > 0 && std::memcmp(mb, pb, static_cast<size_t>(m.rc)) != 0) {
    return "readlink: targets differ: \"" + std::string(mb, static_cast<size_t>(m.rc)) +
           "\" vs \"" + std::string(pb, static_cast<size_t>(p.rc)) + "\"";
  }
  return "";
}

std::string DiffRunner::OpChmod() {
  const std::string rel = PickPath();
  const auto mode = static_cast<mode_t>(Uniform(0, 0777));
  std::ostringstream d;
  d << "chmod " << rel << " 0" << std::oct << mode;
  desc_ = d.str();
  const std::string diff =
      Differ(Sys(::chmod(Mp(rel).c_str(), mode)), Sys(::chmod(Pp(rel).c_str(), mode)));
  return diff.empty() ? "" : "chmod: " + diff;
}

std::string DiffRunner::OpChown() {
  const std::string rel = PickPath();
  static const uid_t kIds[] = {0, 1000, 4242};
  const uid_t uid = kIds[Uniform(0, 2)];
  const gid_t gid = kIds[Uniform(0, 2)];
  desc_ = "lchown " + rel + " " + std::to_string(uid) + ":" + std::to_string(gid);
  const std::string diff =
      Differ(Sys(::lchown(Mp(rel).c_str(), uid, gid)), Sys(::lchown(Pp(rel).c_str(), uid, gid)));
  return diff.empty() ? "" : "lchown: " + diff;
}

std::string DiffRunner::OpUtimens() {
  const std::string rel = PickPath();
  struct timespec times[2];
  for (struct timespec& t : times) {
    t.tv_sec = static_cast<time_t>(Uniform(0, 1u << 31));
    t.tv_nsec = static_cast<long>(Uniform(0, 999999999));
  }
  const int flags = Chance(0.3) ? AT_SYMLINK_NOFOLLOW : 0;
  desc_ = "utimensat " + rel + " mtime=" + std::to_string(times[1].tv_sec) + "." +
          std::to_string(times[1].tv_nsec) + (flags ? " NOFOLLOW" : "");
  const Outcome m = Sys(::utimensat(AT_FDCWD, Mp(rel).c_str(), times, flags));
  const Outcome p = Sys(::utimensat(AT_FDCWD, Pp(rel).c_str(), times, flags));
  if (std::string diff = Differ(m, p); !diff.empty()) return "utimensat: " + diff;
  if (m.rc != 0) return "";
  struct stat ms {
  }, ps{};
  const bool follow = flags == 0;
  if ((follow ? ::stat : ::lstat)(Mp(rel).c_str(), &ms) != 0) return "stat after utimensat failed";
  if ((follow ? ::stat : ::lstat)(Pp(rel).c_str(), &ps) != 0) return "";
  if (ms.st_mtim.tv_sec != ps.st_mtim.tv_sec || ms.st_mtim.tv_nsec != ps.st_mtim.tv_nsec ||
      ms.st_atim.tv_sec != ps.st_atim.tv_sec || ms.st_atim.tv_nsec != ps.st_atim.tv_nsec) {
    return "utimensat: times differ: mount mtime " + std::to_string(ms.st_mtim.tv_sec) + "." +
           std::to_string(ms.st_mtim.tv_nsec) + " atime " + std::to_string(ms.st_atim.tv_sec) +
           "." + std::to_string(ms.st_atim.tv_nsec) + ", plain mtime " +
           std::to_string(ps.st_mtim.tv_sec) + "." + std::to_string(ps.st_mtim.tv_nsec) +
           " atime " + std::to_string(ps.st_atim.tv_sec) + "." + std::to_string(ps.st_atim.tv_nsec);
  }
  return "";
}

std::string DiffRunner::OpStat() {
  const std::string rel = PickPath();
  const bool follow = Chance(0.5);
  desc_ = std::string(follow ? "stat " : "lstat ") + rel;
  return CompareEntries(Mp(rel), Pp(rel), desc_, follow);
}

std::string DiffRunner::OpReaddir() {
  const std::string rel = Chance(0.2) ? "" : PickExisting("d");
  desc_ = "readdir " + (rel.empty() ? "." : rel);
  int m_err = 0, p_err = 0;
  std::vector<std::string> m = ListDir(Mp(rel), &m_err);
  std::vector<std::string> p = ListDir(Pp(rel), &p_err);
  if (rel.empty()) {  // other runners may share the top level
    const auto foreign = [&](const std::string& n) { return !n.starts_with(config_.name_prefix); };
    std::erase_if(m, foreign);
    std::erase_if(p, foreign);
  }
  std::sort(m.begin(), m.end());
  std::sort(p.begin(), p.end());
  if (m_err != p_err) return "readdir: mount " + ErrnoName(m_err) + ", plain " + ErrnoName(p_err);
  if (m != p) {
    std::string diff = "readdir: names differ; mount:";
    for (const std::string& n : m) diff += " " + n.substr(0, 20);
    diff += "; plain:";
    for (const std::string& n : p) diff += " " + n.substr(0, 20);
    return diff;
  }
  return "";
}

// mmap()s one page of `fd` and unmaps it again: 0 or -1 with errno.
static long MapOutcome(int fd) {
  void* map = ::mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return -1;
  ::munmap(map, 4096);
  return 0;
}

std::string DiffRunner::OpMmapRead() {
  OpenFile* f = PickFile();
  if (f == nullptr) return OpOpen();
  const uint64_t size = PlainSize(*f);
  desc_ = "mmap-read fd#" + std::to_string(f->id) + " size=" + std::to_string(size);
  if (struct stat ps{}; ::fstat(f->p, &ps) != 0 || !S_ISREG(ps.st_mode)) {
    desc_ += " (not a file)";
    return Differ(Sys(MapOutcome(f->m)), Sys(MapOutcome(f->p)));
  }
  struct stat ms {};
  if (::fstat(f->m, &ms) != 0 || static_cast<uint64_t>(ms.st_size) != size) {
    return "mmap-read: mount size " + std::to_string(ms.st_size) + " != plain size " +
           std::to_string(size);
  }
  if (size == 0) return "";
  void* mm = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, f->m, 0);
  const Outcome m = {mm == MAP_FAILED ? -1 : 0, mm == MAP_FAILED ? errno : 0};
  void* pm = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, f->p, 0);
  const Outcome p = {pm == MAP_FAILED ? -1 : 0, pm == MAP_FAILED ? errno : 0};
  std::string diff = Differ(m, p);
  if (diff.empty() && mm != MAP_FAILED) {
    const ::testing::AssertionResult same =
        SameBytes(std::string_view(static_cast<char*>(mm), size),
                  std::string_view(static_cast<char*>(pm), size));
    if (!same) diff = same.message();
  }
  if (mm != MAP_FAILED) ::munmap(mm, size);
  if (pm != MAP_FAILED) ::munmap(pm, size);
  return diff.empty() ? "" : "mmap-read: " + diff;
}

std::string DiffRunner::OpMmapWrite() {
  OpenFile* f = PickFile();
  if (f == nullptr) return OpOpen();
  const uint64_t size = PlainSize(*f);
  desc_ = "mmap-write fd#" + std::to_string(f->id) + " size=" + std::to_string(size);
  if (struct stat ps{}; ::fstat(f->p, &ps) != 0 || !S_ISREG(ps.st_mode)) {
    desc_ += " (not a file)";
    return Differ(Sys(MapOutcome(f->m)), Sys(MapOutcome(f->p)));
  }
  if (size == 0) return "";
  void* mm = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, f->m, 0);
  const Outcome m = {mm == MAP_FAILED ? -1 : 0, mm == MAP_FAILED ? errno : 0};
  void* pm = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, f->p, 0);
  const Outcome p = {pm == MAP_FAILED ? -1 : 0, pm == MAP_FAILED ? errno : 0};
  std::string diff = Differ(m, p);
  if (diff.empty() && mm != MAP_FAILED) {
    const uint64_t writes = Uniform(1, 4);
    for (uint64_t i = 0; i < writes; ++i) {
      const uint64_t off = Uniform(0, size - 1);
      const std::string data =
          RandomBytes(rng_(), Uniform(1, std::min<uint64_t>(size - off, 9000)));
      desc_ += " [" + std::to_string(off) + "+" + std::to_string(data.size()) + "]";
      std::memcpy(static_cast<char*>(mm) + off, data.data(), data.size());
      std::memcpy(static_cast<char*>(pm) + off, data.data(), data.size());
    }
    diff = Differ(Sys(::msync(mm, size, MS_SYNC)), Sys(::msync(pm, size, MS_SYNC)));
  }
  if (mm != MAP_FAILED) ::munmap(mm, size);
  if (pm != MAP_FAILED) ::munmap(pm, size);
  return diff.empty() ? "" : "mmap-write: " + diff;
}

}  // namespace modelvault::fs::test
