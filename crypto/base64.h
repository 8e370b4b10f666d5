// Base64 encodings from OpenSSL's EVP encoder: standard (RFC 4648 section 4, padded) for
// metadata fields, and URL-safe without padding (section 5) for names in the backing
// directory. Decoding rejects anything that is not canonical output of the encoder.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace modelvault::crypto {

std::string Base64Encode(std::span<const uint8_t> data);
Result<std::vector<uint8_t>> Base64Decode(std::string_view text);

std::string Base64UrlEncode(std::span<const uint8_t> data);
Result<std::vector<uint8_t>> Base64UrlDecode(std::string_view text);

}  // namespace modelvault::crypto
