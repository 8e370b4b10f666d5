// What the CLI does with a person at a terminal: asking for a secret without echo.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace modelvault::cli {

inline constexpr size_t kMaxSecretText = 4096;

// True if stdin is a terminal, so that someone could answer a prompt.
bool CanPrompt();
// Reads one line from /dev/tty with echo off (rather than stdin, so that it works while
// stdin or stdout are redirected); the line end is not part of the answer. InvalidArgument
// if the answer is empty or longer than kMaxSecretText.
Result<SecretBytes> PromptSecret(const std::string& prompt);

// A secret file's contents without one trailing line end (text editors add one).
// InvalidArgument naming the file if it is empty; `what` says what it holds ("the PIN").
Result<SecretBytes> ReadSecretTextFile(const std::string& path, const std::string& what);

// Progress of long work (signing, verifying) as one line on stderr, rewritten in place at
// most ten times a second and erased at the end, while stderr is a terminal; nothing
// otherwise, so logs and pipes stay clean. Not thread-safe.
class ProgressLine {
 public:
  explicit ProgressLine(std::string label);
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine();
  void Update(uint64_t done, uint64_t total);

 private:
  const bool enabled_;
  const std::string label_;
  std::chrono::steady_clock::time_point last_{};
  bool shown_ = false;
};

}  // namespace modelvault::cli
