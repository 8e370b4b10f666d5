// Test helpers: hex strings to bytes and back, for typing in published test vectors.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace modelvault::crypto::test {

// Decodes lowercase or uppercase hex; spaces are skipped so that vectors can be grouped the
// way their source prints them. Aborts on malformed input (a typo in a test, not a failure
// of the code under test).
std::vector<uint8_t> FromHex(std::string_view hex);
std::string ToHex(std::span<const uint8_t> bytes);
// The bytes of a string literal, without its terminating NUL.
std::vector<uint8_t> Bytes(std::string_view text);

}  // namespace modelvault::crypto::test
