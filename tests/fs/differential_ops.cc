// DiffRunner's driver and its random choices. The operations are in differential_fd_ops.cc
// (open descriptors) and differential_ns_ops.cc (names, attributes, mmap).
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
  const std::string diff = CompareTrees(mount_base_, plain_base_, config_.name_prefix);
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
  const std::string& prefix = config_.name_prefix;
  if (Chance(0.04)) {  // long names, up to the 255-byte limit
    static const size_t kLong[] = {255, 180, 120};
    const size_t i = Uniform(0, 2);
    return prefix + std::string(kLong[i] - prefix.size(), "LMN"[i]);
  }
  return prefix + kShort[Uniform(0, std::size(kShort) - 1)];
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
      if (dir.empty() && !name.starts_with(config_.name_prefix)) continue;
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

}  // namespace modelvault::fs::test
