// DiffRunner's operations on open descriptors: open, close, read, write, seek, truncate,
// sync and fstat, each applied to the mount's and the plain tree's descriptor alike.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "tests/fs/differential_internal.h"
#include "tests/fs/differential_ops.h"
#include "tests/fs/fs_test_util.h"

namespace modelvault::fs::test {

std::string DiffRunner::OpOpen() {
  if (files_.size() >= 12) return OpClose();
  const std::string rel = PickPath();
  static const int kAccess[] = {O_RDONLY, O_WRONLY, O_RDWR};
  int flags = kAccess[Uniform(0, 2)];
  if (Chance(0.5)) flags |= O_CREAT;
  if ((flags & O_CREAT) && Chance(0.2)) flags |= O_EXCL;
  if (Chance(0.12)) flags |= O_TRUNC;
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
