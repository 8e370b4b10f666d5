// Helpers for the audit tests: a private temporary directory, reading and rewriting a log
// line by line, and a fixed signing seed with its public key.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/secret_bytes.h"

namespace modelvault::audit::test {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The file's lines without their newlines (a last line without newline included).
std::vector<std::string> ReadLines(const std::string& path);
// Replaces the file with `lines`, each followed by a newline.
void WriteLines(const std::string& path, const std::vector<std::string>& lines);
// Appends raw bytes.
void AppendRaw(const std::string& path, const std::string& bytes);

// A deterministic 32-byte seed (`fill` in every byte) and the Ed25519 public key it gives.
SecretBytes TestSeed(uint8_t fill = 7);
std::vector<uint8_t> TestPublicKey(uint8_t fill = 7);

inline constexpr char kVolume[] = "00112233445566778899aabbccddeeff";
inline constexpr char kOtherVolume[] = "ffeeddccbbaa99887766554433221100";

}  // namespace modelvault::audit::test
