// DiffRunner's driver, its random choices, and the operations on open descriptors. The
// namespace and attribute operations are in differential_ns_ops.cc.
#include "tests/fs/differential_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "tests/fs/differential_internal.h"
#include "tests/fs/differential_tree.h"
#include "tests/fs/fs_test_util.h"

namespace modelvault::fs::test {

namespace {
// Syscalls that succeeded / failed on this thread, for Summary().
thread_local uint64_t sys_ok = 0;
thread_local uint64_t sys_failed = 0;
}  // namespace

Outcome Sys(long rc) {
  ++(rc < 0 ? sys_failed : sys_ok);
  return {rc, rc < 0 ? errno : 0};
}

std::string Differ(const Outcome& m, const Outcome& p, bool normalize) {
  const int m_err = normalize && m.err == EEXIST ? ENOTEMPTY : m.err;
  const int p_err = normalize && p.err == EEXIST ? ENOTEMPTY : p.err;
  if (m.rc == p.rc && m_err == p_err) return "";
  std::ostringstream s;
  s << "mount returned " << m.rc;
  if (m.rc < 0) s << " " << ErrnoName(m.err);
  s << ", plain returned " << p.rc;
  if (p.rc < 0) s << " " << ErrnoName(p.err);
  return s.str();
}

DiffRunner::DiffRunner(std::string mount_root, std::string plain_root, DiffConfig config)
    : mount_base_(config.subdir.empty() ? mount_root : mount_root + "/" + config.subdir),
      plain_base_(config.subdir.empty() ? plain_root : plain_root + "/" + config.subdir),
      config_(std::move(config)),
      rng_(config_.seed * 7919 + 17) {
  ops_ = {{12, &DiffRunner::OpOpen},   {6, &DiffRunner::OpClose},     {10, &DiffRunner::OpWrite},
          {12, &DiffRunner::OpPwrite}, {6, &DiffRunner::OpRead},      {8, &DiffRunner::OpPread},
          {2, &DiffRunner::OpLseek},   {4, &DiffRunner::OpFtruncate}, {3, &DiffRunner::OpTruncate},
          {2, &DiffRunner::OpFsync},   {3, &DiffRunner::OpFstat},     {6, &DiffRunner::OpMkdir},
          {3, &DiffRunner::OpRmdir},   {5, &DiffRunner::OpUnlink},    {8, &DiffRunner::OpRename},
          {3, &DiffRunner::OpLink},    {4, &DiffRunner::OpSymlink},   {2, &DiffRunner::OpReadlink},
          {3, &DiffRunner::OpChmod},   {1, &DiffRunner::OpChown},     {3, &DiffRunner::OpUtimens},
          {5, &DiffRunner::OpStat},    {2, &DiffRunner::OpReaddir}};
  if (config_.mmap_ops) {
    ops_.push_back({3, &DiffRunner::OpMmapRead});
    ops_.push_back({4, &DiffRunner::OpMmapWrite});
  }
}

DiffRunner::~DiffRunner() { CloseAll(); }

void DiffRunner::CloseAll() {
  for (const OpenFile& f : files_) {
    ::close(f.m);
    ::close(f.p);
  }
  files_.clear();
}

std::string DiffRunner::Run(const std::function<std::string()>& remount) {
  int total = 0;
  for (const auto& [weight, op] : ops_) total += weight;
  ok_at_start_ = sys_ok;
  failed_at_start_ = sys_failed;
  for (op_index_ = 0; op_index_ < config_.ops; ++op_index_) {
    Scan();
    int pick = static_cast<int>(Uniform(0, static_cast<uint64_t>(total - 1)));
    Op op = ops_.back().second;
    for (const auto& [weight, candidate] : ops_) {
      if (pick < weight) {
        op = candidate;
        break;
      }
      pick -= weight;
    }
    desc_.clear();
    const std::string diff = (this->*op)();
    log_.push_back("#" + std::to_string(op_index_) + " " + desc_);
    if (!diff.empty()) return Report(diff);
    if (remount && (op_index_ + 1) % config_.remount_every == 0) {
      CloseAll();
      log_.push_back("(closed all files, remounted)");
      if (std::string failed = remount(); !failed.empty()) return Report("remount: " + failed);
      if (std::string tree = CheckTree("after the remount after op #" + std::to_string(op_index_));
          !tree.empty()) {
        return tree;
      }
    } else if ((op_index_ + 1) % config_.check_every == 0) {
      if (std::string tree = CheckTree("after op #" + std::to_string(op_index_)); !tree.empty()) {
        return tree;
      }
    }
  }
  return "";
}

std::string DiffRunner::Summary() {
  Scan();
  uint64_t files = 0, dirs = 0, links = 0, bytes = 0;
  for (const Entry& e : entries_) {
    files += e.type == 'f';
    dirs += e.type == 'd';
    links += e.type == 'l';
    if (e.type == 'f') bytes += static_cast<uint64_t>(Lstat(Pp(e.rel))->st_size);
  }
  std::ostringstream s;
  s << "seed " << config_.seed << ": " << op_index_ << " operations, " << sys_ok
    << " calls succeeded, " << sys_failed << " failed; final tree: " << files << " files (" << bytes
    << " bytes), " << dirs << " dirs, " << links << " symlinks";
  return s.str();
}

std::string DiffRunner::CheckTree(const std::string& when) {
  const std::string diff = CompareTrees(mount_base_, plain_base_);
  return diff.empty() ? "" : Report("trees differ " + when + ":\n" + diff);
}

namespace {

// Shortens runs of one character ("LLLL...L" -> "L{255}") to keep long names readable.
std::string Squeeze(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    size_t j = i;
    while (j < s.size() && s[j] == s[i]) ++j;
    if (j - i > 8) {
      out += s[i] + std::string("{") + std::to_string(j - i) + "}";
    } else {
      out.append(s, i, j - i);
    }
    i = j;
  }
  return out;
}

}  // namespace

std::string DiffRunner::Report(const std::string& what) const {
  std::ostringstream s;
  s << "differential mismatch: seed=" << config_.seed << " op=#" << op_index_
    << " block_size=" << config_.block_size << " mmap=" << config_.mmap_ops
    << (config_.subdir.empty() ? "" : " subdir=" + config_.subdir) << "\n  " << Squeeze(what)
    << "\nlast operations:\n";
  // MODELVAULT_DIFF_TAIL=N prints more (or fewer) of the last operations.
  const char* tail_env = std::getenv("MODELVAULT_DIFF_TAIL");
  const size_t tail = tail_env != nullptr ? std::strtoul(tail_env, nullptr, 10) : 40;
  const size_t from = log_.size() > tail ? log_.size() - tail : 0;
  for (size_t i = from; i < log_.size(); ++i) s << "  " << Squeeze(log_[i]) << "\n";
  s << "reproduce with MODELVAULT_DIFF_SEED=" << config_.seed
    << " MODELVAULT_DIFF_OPS=" << (op_index_ + 1) << "\n";
  return s.str();
}

uint64_t DiffRunner::Uniform(uint64_t lo, uint64_t hi) {
  return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
}

bool DiffRunner::Chance(double p) { return std::uniform_real_distribution<double>()(rng_) < p; }

std::string DiffRunner::RandomName() {
  static const char* const kShort[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
  if (Chance(0.04)) {
    static const std::string kLong[] = {std::string(255, 'L'), std::string(180, 'M'),
                                        std::string(120, 'N')};
    return kLong[Uniform(0, 2)];
  }
  return kShort[Uniform(0, std::size(kShort) - 1)];
}

void DiffRunner::Scan() {
  entries_.clear();
  std::vector<std::string> dirs{""};
  while (!dirs.empty()) {
    const std::string dir = dirs.back();
    dirs.pop_back();
    std::vector<std::string> names = ListDir(Pp(dir));
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      const std::string rel = dir.empty() ? name : dir + "/" + name;
      const auto st = Lstat(Pp(rel));
      if (!st) continue;
      const char type = S_ISREG(st->st_mode)   ? 'f'
                        : S_ISDIR(st->st_mode) ? 'd'
                        : S_ISLNK(st->st_mode) ? 'l'
                                               : '?';
      entries_.push_back({rel, type});
      if (type == 'd') dirs.push_back(rel);
    }
  }
}

std::string DiffRunner::PickExisting(const std::string& types) {
  std::vector<const Entry*> candidates;
  for (const Entry& e : entries_) {
    if (types.empty() || types.find(e.type) != std::string::npos) candidates.push_back(&e);
  }
  if (candidates.empty()) return PickNew();
  return candidates[Uniform(0, candidates.size() - 1)]->rel;
}

std::string DiffRunner::PickNew() {
  std::vector<std::string> dirs{""};
  for (const Entry& e : entries_) {
    if (e.type == 'd' && std::count(e.rel.begin(), e.rel.end(), '/') < 3) dirs.push_back(e.rel);
  }
  const std::string& dir = dirs[Uniform(0, dirs.size() - 1)];
  const std::string name = RandomName();
  return dir.empty() ? name : dir + "/" + name;
}

std::string DiffRunner::PickPath() {
  const uint64_t r = Uniform(0, 99);
  if (r < 62) return PickExisting();
  if (r < 95) return PickNew();
  if (r < 98) return PickExisting("f") + "/x";  // ENOTDIR
  return "nonexistent/" + RandomName();
}

DiffRunner::OpenFile* DiffRunner::PickFile() {
  if (files_.empty()) return nullptr;
  return &files_[Uniform(0, files_.size() - 1)];
}

uint64_t DiffRunner::PlainSize(const OpenFile& f) {
  struct stat st {};
  return ::fstat(f.p, &st) == 0 && S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
}

uint64_t DiffRunner::RandomLength() {
  const uint64_t bs = config_.block_size;
  const uint64_t r = Uniform(0, 99);
  if (r < 45) return Uniform(0, 100);
  if (r < 85) return Uniform(0, 2 * bs);
  return Uniform(0, 3 * bs + 17);
}

uint64_t DiffRunner::RandomOffset(uint64_t size) {
  const uint64_t bs = config_.block_size;
  const uint64_t r = Uniform(0, 99);
  if (r < 40) return Uniform(0, size);
  if (r < 70) {  // near a block boundary
    const uint64_t base = Uniform(0, size / bs + 1) * bs;
    const uint64_t delta = Uniform(0, 3);
    return delta == 0 ? base : delta == 1 ? base + 1 : delta == 2 && base > 0 ? base - 1 : base;
  }
  if (r < 95) return Uniform(0, size + 2 * bs);
  return Uniform(0, 6 * bs);
}

std::string DiffRunner::Mp(const std::string& rel) const {
  return rel.empty() ? mount_base_ : mount_base_ + "/" + rel;
}
std::string DiffRunner::Pp(const std::string& rel) const {
  return rel.empty() ? plain_base_ : plain_base_ + "/" + rel;
}

std::string DiffRunner::OpOpen() {
  if (files_.size() >= 12) return OpClose();
  const std::string rel = PickPath();
  static const int kAccess[] = {O_RDONLY, O_WRONLY, O_RDWR};
  int flags = kAccess[Uniform(0, 2)];
  if (Chance(0.5)) flags |= O_CREAT;
  if ((flags & O_CREAT) && Chance(0.2)) flags |= O_EXCL;
  if (Chance(0.12)) flags |= O_TRUNC;
  if ((flags & O_ACCMODE) == O_RDONLY) flags &= ~O_TRUNC;  // TEMP
  if (Chance(0.15)) flags |= O_APPEND;
  static const mode_t kModes[] = {0644, 0600, 0755, 0444, 0640};
  const mode_t mode = kModes[Uniform(0, 4)];
  std::ostringstream d;
  d << "open " << rel << " flags=0" << std::oct << flags << " mode=0" << mode;
  desc_ = d.str();
  const Outcome m = Sys(::open(Mp(rel).c_str(), flags | O_CLOEXEC, mode));
  const Outcome p = Sys(::open(Pp(rel).c_str(), flags | O_CLOEXEC, mode));
  if ((m.rc >= 0) != (p.rc >= 0) || m.err != p.err) {
    if (m.rc >= 0) ::close(static_cast<int>(m.rc));
    if (p.rc >= 0) ::close(static_cast<int>(p.rc));
    return "open: " + Differ(m, p);
  }
  if (m.rc >= 0) {
    files_.push_back({static_cast<int>(m.rc), static_cast<int>(p.rc), next_file_id_, desc_});
    desc_ += " -> fd#" + std::to_string(next_file_id_++);
  }
  return "";
}

std::string DiffRunner::OpClose() {
  if (files_.empty()) return OpOpen();
  const size_t i = Uniform(0, files_.size() - 1);
  const OpenFile f = files_[i];
  files_.erase(files_.begin() + static_cast<std::ptrdiff_t>(i));
  desc_ = "close fd#" + std::to_string(f.id);
  const Outcome m = Sys(::close(f.m));
  const Outcome p = Sys(::close(f.p));
  const std::string diff = Differ(m, p);
  return diff.empty() ? "" : "close: " + diff;
}

std::string DiffRunner::OpWrite() {
  OpenFile* f = PickFile();
  if (f == nullptr) return OpOpen();
  const std::string data = RandomBytes(rng_(), RandomLength());
  desc_ = "write fd#" + std::to_string(f->id) + " len=" + std::to_string(data.size());
  const Outcome m = Sys(::write(f->m, data.data(), data.size()));
  const Outcome p = Sys(::write(f->p, data.data(), data.size()));
  const std::string diff = Differ(m, p);
  return diff.empty() ? "" : "write: " + diff;
}

std::string DiffRunner::OpPwrite() {
  OpenFile* f = PickFile();
  if (f == nullptr) return OpOpen();
  const uint64_t off = RandomOffset(PlainSize(*f));
  const std::string data = RandomBytes(rng_(), RandomLength());
  desc_ = "pwrite fd#" + std::to_string(f->id) + " off=" + std::to_string(off) +
          " len=" + std::to_string(data.size());
  const auto o = static_cast<off_t>(off);
  const Outcome m = Sys(::pwrite(f->m, data.data(), data.size(), o));
  const Outcome p = Sys(::pwrite(f->p, data.data(), data.size(), o));
  const std::string diff = Differ(m, p);
  return diff.empty() ? "" : "pwrite: " + diff;
}

std::string DiffRunner::OpRead() {
  OpenFile* f = PickFile();
  if (f == nullptr) return OpOpen();
  const uint64_t len = RandomLength();
  desc_ = "read fd#" + std::to_string(f->id) + " len=" + std::to_string(len);
  std::string mb(len, '\0'), pb(len, '\0');
  const Outcome m = Sys(::read(f->m, mb.data(), len));
  const Outcome p = Sys(::read(f->p, pb.data(), len));
  if (std::string diff = Differ(m, p); !diff.empty()) return "read: " + diff;
  if (m.rc > 0 && mb.compare(0, static_cast<size_t>(m.rc), pb, 0, static_cast<size_t>(m.rc))) {
    return std::string("read: data differs: ") + SameBytes(mb.substr(0, static_cast<size_t>(m.rc)),
                                                           pb.substr(0, static_cast<size_t>(p.rc)))
                                                     .message();
  }
  return "";
}

std::string DiffRunner::OpPread() {
  OpenFile* f = PickFile();
  if (f == nullptr) return OpOpen();
  const uint64_t off = RandomOffset(PlainSize(*f));
  const uint64_t len = RandomLength();
  desc_ = "pread fd#" + std::to_string(f->id) + " off=" + std::to_string(off) +
          " len=" + std::to_string(len);
  std::string mb(len, '\0'), pb(len, '\0');
  const Outcome m = Sys(::pread(f->m, mb.data(), len, static_cast<off_t>(off)));
  const Outcome p = Sys(::pread(f->p, pb.data(), len, static_cast<off_t>(off)));
  if (std::string diff = Differ(m, p); !diff.empty()) return "pread: " + diff;
  if (m.rc > 0 && mb.compare(0, static_cast<size_t>(m.rc), pb, 0, static_cast<size_t>(m.rc))) {
    return std::string("pread: data differs: ") + SameBytes(mb.substr(0, static_cast<size_t>(m.rc)),
                                                            pb.substr(0, static_cast<size_t>(p.rc)))
                                                      .message();
  }
  return "";
}

std::string DiffRunner::OpLseek() {
  OpenFile* f = PickFile();
  struct stat st {};
  if (f == nullptr || ::fstat(f->p, &st) != 0 || !S_ISREG(st.st_mode)) return OpOpen();
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const bool from_end = Chance(0.3);
  const off_t off =
      from_end ? -static_cast<off_t>(Uniform(0, size)) : static_cast<off_t>(RandomOffset(size));
  const int whence = from_end ? SEEK_END : SEEK_SET;
  desc_ = "lseek fd#" + std::to_string(f->id) + " " + std::to_string(off) +
          (from_end ? " SEEK_END" : " SEEK_SET");
  const std::string diff = Differ(Sys(::lseek(f->m, off, whence)), Sys(::lseek(f->p, off, whence)));
  return diff.empty() ? "" : "lseek: " + diff;
}

std::string DiffRunner::OpFtruncate() {
  OpenFile* f = PickFile();
  if (f == nullptr) return OpOpen();
  const uint64_t size =
      Chance(0.5) ? RandomOffset(PlainSize(*f)) : Uniform(0, 3 * config_.block_size);
  desc_ = "ftruncate fd#" + std::to_string(f->id) + " " + std::to_string(size);
  const auto s = static_cast<off_t>(size);
  const std::string diff = Differ(Sys(::ftruncate(f->m, s)), Sys(::ftruncate(f->p, s)));
  return diff.empty() ? "" : "ftruncate: " + diff;
}

std::string DiffRunner::OpFsync() {
  OpenFile* f = PickFile();
  if (f == nullptr) return OpOpen();
  const bool data_only = Chance(0.5);
  desc_ = std::string(data_only ? "fdatasync" : "fsync") + " fd#" + std::to_string(f->id);
  const auto sync = data_only ? ::fdatasync : ::fsync;
  const std::string diff = Differ(Sys(sync(f->m)), Sys(sync(f->p)));
  return diff.empty() ? "" : desc_ + ": " + diff;
}

std::string DiffRunner::OpFstat() {
  OpenFile* f = PickFile();
  if (f == nullptr) return OpOpen();
  desc_ = "fstat fd#" + std::to_string(f->id);
  struct stat m {
  }, p{};
  const std::string diff = Differ(Sys(::fstat(f->m, &m)), Sys(::fstat(f->p, &p)));
  if (!diff.empty()) return "fstat: " + diff;
  return SameStat(m, p, "fstat fd#" + std::to_string(f->id));
}

}  // namespace modelvault::fs::test
