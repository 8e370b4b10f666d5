// The recovery key: 32 random bytes that unlock a "recovery" keyslot, written for people as
// 8 groups of 8 lowercase hex digits joined by dashes:
//
//   3f9a0c41-7be2d5a0-...-0d19e6b2
//
// Parsing is forgiving where a person copying the key would be: case, spaces, line breaks
// and missing dashes do not matter; anything else is refused with what is wrong.
#pragma once

#include <string_view>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace modelvault::keyprovider {

inline constexpr size_t kRecoveryKeySize = 32;

// A new random recovery key.
Result<SecretBytes> NewRecoveryKey();
// The printed form of `key` (kRecoveryKeySize bytes), without a line end.
SecretBytes FormatRecoveryKey(const SecretBytes& key);
// The key in `text`; InvalidArgument saying what is wrong (never echoing the text).
Result<SecretBytes> ParseRecoveryKey(const SecretBytes& text);

}  // namespace modelvault::keyprovider
