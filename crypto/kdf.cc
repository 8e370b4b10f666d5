#include "crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "crypto/openssl_util.h"

namespace modelvault::crypto {
namespace {

using internal::KdfCtxPtr;
using internal::KdfPtr;
using internal::OpenSslError;

void* Mutable(std::span<const uint8_t> s) {
  // OSSL_PARAM takes non-const pointers for octet strings it only reads.
  return const_cast<uint8_t*>(s.data());
}

Result<SecretBytes> Derive(const char* name, OSSL_PARAM* params, size_t length) {
  KdfPtr kdf(EVP_KDF_fetch(nullptr, name, nullptr));
  if (!kdf) return OpenSslError(std::string(name) + " is unavailable");
  KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  SecretBytes out(length);
  if (!ctx || EVP_KDF_derive(ctx.get(), out.data(), length, params) != 1) {
    return OpenSslError(std::string(name) + " derivation");
  }
  return out;
}

}  // namespace

Result<SecretBytes> HkdfSha256(std::span<const uint8_t> ikm, std::span<const uint8_t> salt,
                               std::span<const uint8_t> info, size_t length) {
  static const uint8_t kEmpty = 0;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, Mutable(ikm), ikm.size()),
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_SALT, salt.empty() ? const_cast<uint8_t*>(&kEmpty) : Mutable(salt),
          salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, Mutable(info), info.size()),
      OSSL_PARAM_construct_end(),
  };
  return Derive("HKDF", params, length);
}

Result<SecretBytes> Scrypt(std::span<const uint8_t> passphrase, std::span<const uint8_t> salt,
                           const ScryptParams& p, size_t length) {
  if (p.n < 2 || (p.n & (p.n - 1)) != 0 || p.r == 0 || p.p == 0) {
    return Status::InvalidArgument("scrypt parameters out of range");
  }
  uint64_t n = p.n;
  uint32_t r = p.r, par = p.p;
  // Room for N=2^20, r=8 (1 GiB) plus slack; OpenSSL's default cap is 32 MiB.
  uint64_t maxmem = 128 * uint64_t{p.r} * p.n + (uint64_t{64} << 20);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, Mutable(passphrase),
                                        passphrase.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, Mutable(salt), salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &par),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end(),
  };
  return Derive("SCRYPT", params, length);
}

}  // namespace modelvault::crypto
