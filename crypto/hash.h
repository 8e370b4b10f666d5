// SHA-256 and HMAC-SHA256 (OpenSSL EVP). Thread-safe free functions.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "base/result.h"

namespace modelvault::crypto {

using Digest = std::array<uint8_t, 32>;

Digest Sha256(std::span<const uint8_t> data);
// SHA-256 of the concatenation of `parts`, without concatenating them: the hot path of
// signed reads (a Merkle leaf is a prefix byte and a whole stored block). Uses one digest
// context per thread and an implementation fetched once.
Digest Sha256(std::initializer_list<std::span<const uint8_t>> parts);
Result<Digest> HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data);

}  // namespace modelvault::crypto
