// Test helpers for the volume content tests: a temporary directory, keys from a fixed master
// key, backing files opened like the filesystem opens them, and raw byte access to a backing
// file for the tamper tests. Header-only; everything aborts the test (ASSERT/ADD_FAILURE) on
// an unexpected system error rather than returning one.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "base/secret_bytes.h"
#include "base/unique_fd.h"
#include "volume/file_content.h"
#include "volume/volume_keys.h"

namespace modelvault::volume::test {

// A fresh directory under the test's temporary directory, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "mv_volume_XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << tmpl << ": " << std::strerror(errno);
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Keys derived from a master key of 32 bytes all equal to `fill`.
inline std::shared_ptr<const VolumeKeys> TestKeys(uint8_t fill = 0x42) {
  SecretBytes master(kMasterKeySize);
  for (auto& b : master.span()) b = fill;
  auto keys = VolumeKeys::Derive(master);
  if (!keys.ok()) {
    ADD_FAILURE() << "VolumeKeys::Derive: " << keys.status().ToString();
    return nullptr;
  }
  return *keys;
}

// Opens (creating if needed) a backing file for reading and writing, as the filesystem does.
inline UniqueFd OpenRw(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) ADD_FAILURE() << "open " << path << ": " << std::strerror(errno);
  return fd;
}

inline UniqueFd OpenRo(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) ADD_FAILURE() << "open " << path << ": " << std::strerror(errno);
  return fd;
}

inline uint64_t FdSize(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) ADD_FAILURE() << "fstat: " << std::strerror(errno);
  return static_cast<uint64_t>(st.st_size);
}

inline void Resize(int fd, uint64_t size) {
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    ADD_FAILURE() << "ftruncate: " << std::strerror(errno);
  }
}

// Raw bytes of the backing file, bypassing the codec.
inline std::vector<uint8_t> RawRead(int fd, uint64_t offset, uint64_t size) {
  std::vector<uint8_t> out(size);
  ssize_t n = pread(fd, out.data(), out.size(), static_cast<off_t>(offset));
  if (n < 0) {
    ADD_FAILURE() << "pread: " << std::strerror(errno);
    n = 0;
  }
  out.resize(static_cast<size_t>(n));
  return out;
}

inline void RawWrite(int fd, uint64_t offset, std::span<const uint8_t> bytes) {
  ssize_t n = pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
  if (n != static_cast<ssize_t>(bytes.size())) ADD_FAILURE() << "pwrite: " << std::strerror(errno);
}

inline void RawFlip(int fd, uint64_t offset, uint8_t mask = 0x01) {
  auto byte = RawRead(fd, offset, 1);
  ASSERT_EQ(byte.size(), 1u) << "offset " << offset << " is past the end";
  byte[0] ^= mask;
  RawWrite(fd, offset, byte);
}

inline std::vector<uint8_t> RandomBytes(std::mt19937_64& rng, size_t size) {
  std::vector<uint8_t> out(size);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

// The whole plaintext through the codec, or the failing Status.
inline Result<std::vector<uint8_t>> ReadAll(const FileContent& fc, int fd) {
  MV_ASSIGN_OR_RETURN(uint64_t size, fc.Size(fd));
  std::vector<uint8_t> out(size);
  MV_ASSIGN_OR_RETURN(size_t n, fc.Read(fd, out, 0));
  if (n != size) return Status::Internal("short read of the whole file");
  return out;
}

}  // namespace modelvault::volume::test
