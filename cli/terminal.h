// What the CLI does with a person at a terminal: asking for a secret without echo.
#pragma once

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

}  // namespace modelvault::cli
