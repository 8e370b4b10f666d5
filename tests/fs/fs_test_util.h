// Small helpers for the filesystem integration tests: an owned file descriptor, whole-file
// and positioned I/O that loops over short transfers, deterministic random bytes, and
// assertions that compare large byte strings without dumping them.
//
// Everything here works on real paths through real syscalls and is thread-safe (no shared
// state). Functions that can fail report errno through their return value, never abort.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelvault::fs::test {

// `expr` is a syscall returning -1 with errno on failure; asserts success and names the
// call and the error otherwise.
#define MV_ASSERT_SYS(expr)                                                                      \
  do {                                                                                           \
    errno = 0;                                                                                   \
    const long mv_rc_ = static_cast<long>(expr);                                                 \
    const int mv_err_ = errno;                                                                   \
    ASSERT_NE(mv_rc_, -1) << #expr << " failed: " << ::modelvault::fs::test::ErrnoName(mv_err_); \
  } while (0)

#define MV_EXPECT_SYS(expr)                                                                      \
  do {                                                                                           \
    errno = 0;                                                                                   \
    const long mv_rc_ = static_cast<long>(expr);                                                 \
    const int mv_err_ = errno;                                                                   \
    EXPECT_NE(mv_rc_, -1) << #expr << " failed: " << ::modelvault::fs::test::ErrnoName(mv_err_); \
  } while (0)

// `expr` must fail with errno `err`.
#define MV_EXPECT_ERRNO(expr, err)                                                                 \
  do {                                                                                             \
    errno = 0;                                                                                     \
    const long mv_rc_ = static_cast<long>(expr);                                                   \
    const int mv_err_ = errno;                                                                     \
    EXPECT_EQ(mv_rc_, -1) << #expr << " succeeded, expected " #err;                                \
    if (mv_rc_ == -1) {                                                                            \
      EXPECT_EQ(mv_err_, (err)) << #expr << ": got " << ::modelvault::fs::test::ErrnoName(mv_err_) \
                                << ", expected " #err;                                             \
    }                                                                                              \
  } while (0)

// "ENOENT (No such file or directory)".
std::string ErrnoName(int err);

// Owns one file descriptor. Move-only.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.Release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();
  // Closes the descriptor; returns close()'s result (0 if there was none).
  int Reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Deterministic pseudo-random bytes (splitmix64 stream) for `seed`.
std::string RandomBytes(uint64_t seed, size_t size);
// Bytes whose value depends on their offset and `seed`, so that any misplaced block shows.
std::string PatternBytes(uint64_t seed, size_t size, uint64_t start_offset = 0);

// Writes all of `data` at `offset`; returns 0 or an errno.
int PwriteAll(int fd, std::string_view data, uint64_t offset);
// Reads up to `size` bytes at `offset`, looping over short reads until EOF; sets `*err`
// (0 on success) and returns what was read before any error.
std::string PreadAll(int fd, size_t size, uint64_t offset, int* err);
// Creates or truncates `path` with `mode` and writes `data`; returns 0 or an errno.
int WriteFile(const std::string& path, std::string_view data, mode_t mode = 0644);
// The whole content of `path`, or nullopt with `*err` set.
std::optional<std::string> ReadFile(const std::string& path, int* err = nullptr);

// Compares byte strings; on mismatch names the first differing offset and both sizes.
::testing::AssertionResult SameBytes(std::string_view actual, std::string_view expected);
// Asserts that `path` holds exactly `expected`.
::testing::AssertionResult FileHolds(const std::string& path, std::string_view expected);

// lstat() as a value; nullopt with `*err` on failure.
std::optional<struct stat> Lstat(const std::string& path, int* err = nullptr);

// Names in directory `path` from a readdir() loop, without "." and "..", in readdir order.
// Sets `*err` on failure.
std::vector<std::string> ListDir(const std::string& path, int* err = nullptr);

}  // namespace modelvault::fs::test
