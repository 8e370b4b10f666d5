#include "crypto/ecdsa_p256.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <string>

#include "crypto/hash.h"
#include "crypto/openssl_util.h"

namespace modelvault::crypto {
namespace {

using internal::BnPtr;
using internal::EcdsaSigPtr;
using internal::MdCtxPtr;
using internal::ParamBldPtr;
using internal::ParamPtr;
using internal::PkeyCtxPtr;
using internal::PkeyPtr;

constexpr size_t kScalarSize = kP256SignatureSize / 2;

// An EVP_PKEY for a SEC1 uncompressed point. OpenSSL decodes the point in fromdata and
// refuses one off the curve; the public check also refuses the point at infinity and
// points outside the prime-order group, so nothing below verifies against a bad key.
Result<PkeyPtr> PublicKey(std::span<const uint8_t> point) {
  if (point.size() != kP256PublicKeySize || point[0] != 0x04) {
    return Status::InvalidArgument(
        "a P-256 public key must be a 65-byte uncompressed point (0x04 || X || Y), not " +
        std::to_string(point.size()) + " bytes" +
        (point.empty() || point[0] == 0x04 ? "" : " starting with another byte"));
  }
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size())) {
    return internal::OpenSslError("building P-256 key parameters");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) {
    return internal::OpenSslError("preparing a P-256 public key");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    Status st = internal::OpenSslError("not a point on P-256");
    return Status::InvalidArgument(st.message());
  }
  PkeyPtr pkey(raw);
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check) return internal::OpenSslError("preparing a P-256 key check");
  if (EVP_PKEY_public_check(check.get()) != 1) {
    Status st = internal::OpenSslError("not a valid P-256 public key");
    return Status::InvalidArgument(st.message());
  }
  return pkey;
}

// Raw r || s (what PKCS#11 tokens produce) as the DER ECDSA-Sig-Value OpenSSL verifies.
// Any r and s are encoded, zero and out-of-range ones included: the verification refuses
// them, which keeps range checking in one place.
Result<std::vector<uint8_t>> DerSignature(std::span<const uint8_t> signature) {
  BnPtr r(BN_bin2bn(signature.data(), kScalarSize, nullptr));
  BnPtr s(BN_bin2bn(signature.data() + kScalarSize, kScalarSize, nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return internal::OpenSslError("building an ECDSA signature");
  }
  // ECDSA_SIG_set0 took ownership of both.
  (void)r.release();
  (void)s.release();
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return internal::OpenSslError("encoding an ECDSA signature");
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* out = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) {
    return internal::OpenSslError("encoding an ECDSA signature");
  }
  return der;
}

}  // namespace

Status EcdsaP256Verify(std::span<const uint8_t> public_key, std::span<const uint8_t> message,
                       std::span<const uint8_t> signature) {
  if (signature.size() != kP256SignatureSize) {
    return Status::InvalidArgument("a P-256 signature must be 64 bytes (r || s), not " +
                                   std::to_string(signature.size()));
  }
  MV_ASSIGN_OR_RETURN(PkeyPtr pkey, PublicKey(public_key));
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> der, DerSignature(signature));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, pkey.get(),
                                      nullptr) != 1) {
    return internal::OpenSslError("preparing ECDSA verification");
  }
  int rc = EVP_DigestVerify(ctx.get(), der.data(), der.size(), message.data(), message.size());
  // A failure here is a verdict on the signature (r or s zero or not below the order, or
  // simply wrong), not an internal error; the error queue must not leak into the next call.
  ERR_clear_error();
  if (rc != 1) return Status::Corruption("signature does not verify");
  return Status::Ok();
}

std::vector<uint8_t> EcdsaP256Digest(std::span<const uint8_t> message) {
  Digest digest = Sha256(message);
  return std::vector<uint8_t>(digest.begin(), digest.end());
}

}  // namespace modelvault::crypto
