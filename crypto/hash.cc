#include "crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "crypto/openssl_util.h"

namespace modelvault::crypto {

Digest Sha256(std::span<const uint8_t> data) {
  Digest out{};
  unsigned int len = 0;
  // EVP_Digest with the default SHA-256 cannot fail short of memory exhaustion.
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1) {
    std::abort();
  }
  return out;
}

Digest Sha256(std::initializer_list<std::span<const uint8_t>> parts) {
  // Fetched once: an implicit fetch on every call costs as much as hashing a small block.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local internal::MdCtxPtr ctx(EVP_MD_CTX_new());
  Digest out{};
  unsigned int len = 0;
  bool ok = md != nullptr && ctx != nullptr && EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1;
  for (auto part : parts) ok = ok && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1;
  if (!ok) std::abort();  // as above: only on memory exhaustion
  return out;
}

Result<Digest> HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  internal::MacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return internal::OpenSslError("HMAC is unavailable");
  internal::MacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  Digest out{};
  size_t len = 0;
  // EVP_MAC_init takes a null key as "keep the previous key", of which there is none, so an
  // empty key (valid for HMAC) must still point somewhere.
  static const uint8_t kEmpty = 0;
  const uint8_t* key_data = key.empty() ? &kEmpty : key.data();
  if (!ctx || EVP_MAC_init(ctx.get(), key_data, key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size()) {
    return internal::OpenSslError("HMAC-SHA256");
  }
  return out;
}

}  // namespace modelvault::crypto
