#include "crypto/random.h"

#include <openssl/rand.h>

#include "crypto/openssl_util.h"

namespace modelvault::crypto {

Status RandomBytes(std::span<uint8_t> out) {
  if (out.empty()) return Status::Ok();
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return internal::OpenSslError("random number generator");
  }
  return Status::Ok();
}

Result<SecretBytes> RandomSecret(size_t size) {
  SecretBytes out(size);
  MV_RETURN_IF_ERROR(RandomBytes(out.span()));
  return out;
}

}  // namespace modelvault::crypto
