// Hexadecimal encoding of binary identifiers (volume IDs in the header), from OpenSSL's
// OPENSSL_buf2hexstr_ex/OPENSSL_hexstr2buf_ex. Output is lowercase without separators;
// decoding accepts only that spelling, so that one value has one text form. Thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace modelvault::crypto {

std::string HexEncode(std::span<const uint8_t> data);
// Corruption for an odd length, a character outside [0-9a-f], or uppercase digits.
Result<std::vector<uint8_t>> HexDecode(std::string_view text);

// The same for secrets (a recovery key's printed form): every copy stays in SecretBytes.
SecretBytes HexEncodeSecret(const SecretBytes& data);
// InvalidArgument rather than Corruption: the text comes from a person, not from disk.
Result<SecretBytes> HexDecodeSecret(const SecretBytes& text);

}  // namespace modelvault::crypto
