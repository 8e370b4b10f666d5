#include "tests/fs/fs_test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <utility>

namespace modelvault::fs::test {

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  std::string out = name != nullptr ? name : "errno " + std::to_string(err);
  out += " (";
  out += std::strerror(err);
  out += ")";
  return out;
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) Reset(other.Release());
  return *this;
}

int Fd::Release() { return std::exchange(fd_, -1); }

int Fd::Reset(int fd) {
  int rc = 0;
  if (fd_ >= 0) rc = ::close(fd_);
  fd_ = fd;
  return rc;
}

namespace {

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::string RandomBytes(uint64_t seed, size_t size) {
  std::string out(size, '\0');
  uint64_t state = seed * 0x2545f4914f6cdd1dULL + 1;
  for (size_t i = 0; i < size; i += 8) {
    const uint64_t v = SplitMix(&state);
    std::memcpy(out.data() + i, &v, std::min<size_t>(8, size - i));
  }
  return out;
}

std::string PatternBytes(uint64_t seed, size_t size, uint64_t start_offset) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) {
    const uint64_t pos = start_offset + i;
    // Mixes the 8-byte word index in, so equal-looking blocks at different offsets differ.
    const uint64_t word = (pos >> 3) * 0x9e3779b97f4a7c15ULL + seed;
    out[i] = static_cast<char>((word >> ((pos & 7) * 8)) ^ (word >> 29) ^ 0x5a);
  }
  return out;
}

int PwriteAll(int fd, std::string_view data, uint64_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    done += static_cast<size_t>(n);
  }
  return 0;
}

std::string PreadAll(int fd, size_t size, uint64_t offset, int* err) {
  std::string out(size, '\0');
  size_t done = 0;
  *err = 0;
  while (done < size) {
    const ssize_t n =
        ::pread(fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      break;
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

int WriteFile(const std::string& path, std::string_view data, mode_t mode) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return errno;
  if (int err = PwriteAll(fd.get(), data, 0); err != 0) return err;
  if (fd.Reset() != 0) return errno;
  return 0;
}

std::optional<std::string> ReadFile(const std::string& path, int* err) {
  int local_err = 0;
  int* e = err != nullptr ? err : &local_err;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    *e = errno;
    return std::nullopt;
  }
  std::string out;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      *e = errno;
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  *e = 0;
  return out;
}

::testing::AssertionResult SameBytes(std::string_view actual, std::string_view expected) {
  const size_t common = std::min(actual.size(), expected.size());
  const auto mismatch = std::mismatch(actual.begin(), actual.begin() + common, expected.begin());
  const size_t first = static_cast<size_t>(mismatch.first - actual.begin());
  if (first == common && actual.size() == expected.size()) {
    return ::testing::AssertionSuccess();
  }
  std::ostringstream msg;
  msg << "got " << actual.size() << " bytes, expected " << expected.size();
  if (first < common) {
    msg << "; first difference at offset " << first << " (got 0x" << std::hex
        << (static_cast<unsigned>(actual[first]) & 0xff) << ", expected 0x"
        << (static_cast<unsigned>(expected[first]) & 0xff) << std::dec << ")";
    size_t last = common;
    while (last > first && actual[last - 1] == expected[last - 1]) --last;
    msg << ", last difference at offset " << (last - 1);
  }
  auto result = ::testing::AssertionFailure() << msg.str();
  return result;
}

::testing::AssertionResult FileHolds(const std::string& path, std::string_view expected) {
  int err = 0;
  const std::optional<std::string> got = ReadFile(path, &err);
  if (!got) return ::testing::AssertionFailure() << "reading " << path << ": " << ErrnoName(err);
  ::testing::AssertionResult same = SameBytes(*got, expected);
  if (!same) return ::testing::AssertionFailure() << path << ": " << same.message();
  return same;
}

std::optional<struct stat> Lstat(const std::string& path, int* err) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (err != nullptr) *err = errno;
    return std::nullopt;
  }
  if (err != nullptr) *err = 0;
  return st;
}

std::vector<std::string> ListDir(const std::string& path, int* err) {
  std::vector<std::string> names;
  if (err != nullptr) *err = 0;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    if (err != nullptr) *err = errno;
    return names;
  }
  while (true) {
    errno = 0;
    const struct dirent* entry = ::readdir(dir);
    if (entry == nullptr) {
      if (errno != 0 && err != nullptr) *err = errno;
      break;
    }
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  ::closedir(dir);
  return names;
}

}  // namespace modelvault::fs::test
