// SHA-256 and HMAC-SHA256 (OpenSSL EVP). Thread-safe free functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "base/result.h"

namespace modelvault::crypto {

using Digest = std::array<uint8_t, 32>;

Digest Sha256(std::span<const uint8_t> data);
Result<Digest> HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data);

}  // namespace modelvault::crypto
