#include "base/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace modelvault {
namespace {

Status WriteAll(int fd, std::span<const uint8_t> bytes, const std::string& path) {
  return PwriteFull(fd, bytes, 0).Annotate(path);
}

std::string DirName(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status FsyncDir(const std::string& dir) {
  UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "opening " + dir);
  if (fsync(fd.get()) != 0) return Status::FromErrno(errno, "syncing " + dir);
  return Status::Ok();
}

Result<size_t> ReadInto(const std::string& path, size_t max_size, std::vector<uint8_t>* vec,
                        SecretBytes* secret) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, path);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, path);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_size) {
    return Status::InvalidArgument(path + ": file is larger than " + std::to_string(max_size) +
                                   " bytes");
  }
  size_t size = static_cast<size_t>(st.st_size);
  std::span<uint8_t> out;
  if (vec) {
    vec->resize(size);
    out = *vec;
  } else {
    *secret = SecretBytes(size);
    out = secret->span();
  }
  MV_ASSIGN_OR_RETURN(size_t n, PreadFull(fd.get(), out, 0));
  if (n != size) return Status::IOError(path + ": file changed while being read");
  return n;
}

}  // namespace

Result<std::vector<uint8_t>> ReadFileBytes(const std::string& path, size_t max_size) {
  std::vector<uint8_t> bytes;
  MV_ASSIGN_OR_RETURN(size_t n, ReadInto(path, max_size, &bytes, nullptr));
  (void)n;
  return bytes;
}

Result<SecretBytes> ReadSecretFile(const std::string& path, size_t max_size) {
  SecretBytes secret;
  MV_ASSIGN_OR_RETURN(size_t n, ReadInto(path, max_size, nullptr, &secret));
  (void)n;
  return secret;
}

Status WriteNewFile(const std::string& path, std::span<const uint8_t> bytes, int mode) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd.valid()) return Status::FromErrno(errno, "creating " + path);
  if (fchmod(fd.get(), mode) != 0) return Status::FromErrno(errno, "chmod " + path);
  MV_RETURN_IF_ERROR(WriteAll(fd.get(), bytes, path));
  if (fsync(fd.get()) != 0) return Status::FromErrno(errno, "syncing " + path);
  return FsyncDir(DirName(path));
}

Status WriteFileAtomically(const std::string& path, std::span<const uint8_t> bytes, int mode,
                           std::string_view temp_suffix) {
  std::string tmp = path + std::string(temp_suffix);
  unlink(tmp.c_str());
  {
    UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd.valid()) return Status::FromErrno(errno, "creating " + tmp);
    Status st = WriteAll(fd.get(), bytes, tmp);
    if (st.ok() && fsync(fd.get()) != 0) st = Status::FromErrno(errno, "syncing " + tmp);
    if (!st.ok()) {
      unlink(tmp.c_str());
      return st;
    }
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return Status::FromErrno(err, "replacing " + path);
  }
  return FsyncDir(DirName(path));
}

Status WriteFull(int fd, std::span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "write");
    if (n == 0) return Status::IOError("write made no progress");
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<size_t> PreadFull(int fd, std::span<uint8_t> out, uint64_t offset) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read");
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Status PwriteFull(int fd, std::span<const uint8_t> in, uint64_t offset) {
  size_t done = 0;
  while (done < in.size()) {
    ssize_t n = pwrite(fd, in.data() + done, in.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write");
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace modelvault
