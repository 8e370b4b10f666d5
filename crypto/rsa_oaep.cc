#include "crypto/rsa_oaep.h"

#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include <memory>

#include "crypto/openssl_util.h"

namespace modelvault::crypto {
namespace {

using internal::BnPtr;
using internal::ParamBldPtr;
using internal::ParamPtr;
using internal::PkeyCtxPtr;
using internal::PkeyPtr;

Result<PkeyPtr> PublicKey(std::span<const uint8_t> modulus,
                          std::span<const uint8_t> public_exponent) {
  if (modulus.empty() || public_exponent.empty()) {
    return Status::InvalidArgument("an RSA public key needs a modulus and an exponent");
  }
  BnPtr n(BN_bin2bn(modulus.data(), static_cast<int>(modulus.size()), nullptr));
  BnPtr e(BN_bin2bn(public_exponent.data(), static_cast<int>(public_exponent.size()), nullptr));
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!n || !e || !bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get())) {
    return internal::OpenSslError("building RSA key parameters");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) {
    return internal::OpenSslError("preparing an RSA public key");
  }
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    Status st = internal::OpenSslError("the RSA public key does not parse");
    return Status::InvalidArgument(st.message());
  }
  return PkeyPtr(raw);
}

}  // namespace

Result<std::vector<uint8_t>> RsaOaepEncrypt(std::span<const uint8_t> modulus,
                                            std::span<const uint8_t> public_exponent, OaepHash hash,
                                            std::span<const uint8_t> plaintext) {
  MV_ASSIGN_OR_RETURN(PkeyPtr key, PublicKey(modulus, public_exponent));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  const char* md = hash == OaepHash::kSha1 ? "SHA1" : "SHA256";
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) <= 0 ||
      EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx.get(), md, nullptr) <= 0 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx.get(), md, nullptr) <= 0) {
    return internal::OpenSslError("setting up RSA-OAEP");
  }
  size_t size = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &size, plaintext.data(), plaintext.size()) <= 0) {
    return internal::OpenSslError("sizing the RSA-OAEP ciphertext");
  }
  std::vector<uint8_t> out(size);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &size, plaintext.data(), plaintext.size()) <= 0) {
    // The usual cause is a plaintext longer than the modulus and hash leave room for.
    Status st = internal::OpenSslError("RSA-OAEP encryption failed");
    return Status::InvalidArgument(st.message());
  }
  out.resize(size);
  return out;
}

}  // namespace modelvault::crypto
