// Cryptographically secure random bytes from OpenSSL's DRBG. Thread-safe.
#pragma once

#include <cstdint>
#include <span>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace modelvault::crypto {

Status RandomBytes(std::span<uint8_t> out);
Result<SecretBytes> RandomSecret(size_t size);

}  // namespace modelvault::crypto
