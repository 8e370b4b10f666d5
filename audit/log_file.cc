#include "audit/log_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <utility>

#include "base/file_util.h"

namespace modelvault::audit {
namespace {

constexpr size_t kTailChunk = 16 * 1024;
// Bounds the work of one append on a log whose end is not records (foreign text appended
// by someone else); a sane log needs one chunk.
constexpr uint64_t kMaxTailScan = 1024 * 1024 + kMaxRecordSize;

// Holds an exclusive flock for its lifetime.
class FileLock {
 public:
  static Result<FileLock> Take(int fd, const std::string& path) {
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) return Status::FromErrno(errno, "locking audit log " + path);
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock() {
    if (fd_ >= 0) ::flock(fd_, LOCK_UN);
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "writing audit log " + path);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

Result<ChainTail> ReadChainTail(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "reading audit log " + path);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  ChainTail tail;
  if (size == 0) return tail;
  // buf holds the file's bytes [start, size); lines are examined from the end backwards,
  // `scan_end` being the (file) offset where the next line to examine ends.
  std::string buf;
  uint64_t start = size;
  uint64_t scan_end = size;
  while (true) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(kTailChunk, start));
    std::string more(chunk, '\0');
    MV_ASSIGN_OR_RETURN(
        size_t got,
        PreadFull(fd, std::span(reinterpret_cast<uint8_t*>(more.data()), chunk), start - chunk));
    if (got != chunk) return Status::IOError("audit log " + path + " shrank while locked");
    start -= chunk;
    buf.insert(0, more);
    if (start + chunk == size) tail.needs_newline = buf.back() != '\n';  // the first chunk
    while (true) {
      std::string_view region(buf.data(), static_cast<size_t>(scan_end - start));
      size_t nl = region.rfind('\n');
      if (nl == std::string_view::npos && start > 0) break;  // the line may begin earlier
      size_t line_begin = nl == std::string_view::npos ? 0 : nl + 1;
      std::string_view line = region.substr(line_begin);
      if (std::optional<uint64_t> seq = RecordSeq(line)) {
        tail.last_seq = *seq;
        tail.prev_hash = LineHash(line);
        return tail;
      }
      if (nl == std::string_view::npos) return tail;  // reached the start: no record at all
      scan_end = start + nl;
    }
    if (size - start > kMaxTailScan) {
      return Status::Corruption("audit log " + path + " has no record in its last " +
                                std::to_string(kMaxTailScan) + " bytes; cannot continue it");
    }
  }
}

Result<LogFile> LogFile::Open(const std::string& path) {
  // O_RDWR, not O_WRONLY: the tail is read back under the lock. O_APPEND makes every
  // write land at the end whatever other writers did.
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "opening audit log " + path);
  UniqueFd owned(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "opening audit log " + path);
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("audit log " + path + " is not a regular file");
  }
  return LogFile(path, std::move(owned));
}

Status LogFile::Append(const std::function<Result<std::string>(const ChainTail&)>& make_line) {
  MV_ASSIGN_OR_RETURN(FileLock lock, FileLock::Take(fd_.get(), path_));
  MV_ASSIGN_OR_RETURN(ChainTail tail, ReadChainTail(fd_.get(), path_));
  MV_ASSIGN_OR_RETURN(std::string line, make_line(tail));
  std::string out;
  out.reserve(line.size() + 2);
  if (tail.needs_newline) out += '\n';  // close the torn line; it stays outside the chain
  out += line;
  out += '\n';
  // One write call for the whole record: a reader (or a crash) sees at worst a torn line,
  // never two records interleaved, and other writers wait on the lock.
  MV_RETURN_IF_ERROR(WriteAll(fd_.get(), out, path_));
  if (::fsync(fd_.get()) != 0) return Status::FromErrno(errno, "syncing audit log " + path_);
  return Status::Ok();
}

}  // namespace modelvault::audit
