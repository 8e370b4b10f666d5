#include "crypto/ed25519.h"

#include <openssl/evp.h>

#include <utility>

#include "crypto/openssl_util.h"

namespace modelvault::crypto {
namespace {

using internal::MdCtxPtr;
using internal::PkeyPtr;

Result<std::vector<uint8_t>> RawPublicKey(EVP_PKEY* key) {
  std::vector<uint8_t> out(Ed25519PrivateKey::kPublicKeySize);
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key, out.data(), &len) != 1 || len != out.size()) {
    return internal::OpenSslError("reading an Ed25519 public key");
  }
  return out;
}

}  // namespace

struct Ed25519PrivateKey::Key {
  PkeyPtr pkey;
};

Ed25519PrivateKey::Ed25519PrivateKey(std::unique_ptr<Key> key, std::vector<uint8_t> public_key)
    : key_(std::move(key)), public_key_(std::move(public_key)) {}
Ed25519PrivateKey::Ed25519PrivateKey(Ed25519PrivateKey&& other) noexcept = default;
Ed25519PrivateKey& Ed25519PrivateKey::operator=(Ed25519PrivateKey&& other) noexcept = default;
Ed25519PrivateKey::~Ed25519PrivateKey() = default;

Result<Ed25519PrivateKey> Ed25519PrivateKey::FromSeed(const SecretBytes& seed) {
  if (seed.size() != kSeedSize) {
    return Status::InvalidArgument("an Ed25519 seed must be " + std::to_string(kSeedSize) +
                                   " bytes, not " + std::to_string(seed.size()));
  }
  PkeyPtr pkey(
      EVP_PKEY_new_raw_private_key_ex(nullptr, "ED25519", nullptr, seed.data(), seed.size()));
  if (!pkey) return internal::OpenSslError("making an Ed25519 key from its seed");
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> public_key, RawPublicKey(pkey.get()));
  return Ed25519PrivateKey(std::make_unique<Key>(Key{std::move(pkey)}), std::move(public_key));
}

Result<Ed25519PrivateKey> Ed25519PrivateKey::Generate() {
  PkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!pkey) return internal::OpenSslError("generating an Ed25519 key");
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> public_key, RawPublicKey(pkey.get()));
  return Ed25519PrivateKey(std::make_unique<Key>(Key{std::move(pkey)}), std::move(public_key));
}

Result<std::vector<uint8_t>> Ed25519PrivateKey::Sign(std::span<const uint8_t> message) const {
  if (!key_) return Status::Internal("signing with a moved-from Ed25519 key");
  // Ed25519 signs in one shot (no digest is named): a fresh context per call keeps Sign
  // safe to call from several threads on one key.
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::vector<uint8_t> sig(kSignatureSize);
  size_t len = sig.size();
  if (!ctx ||
      EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key_->pkey.get(),
                            nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1 ||
      len != sig.size()) {
    return internal::OpenSslError("Ed25519 signing");
  }
  return sig;
}

Status Ed25519Verify(std::span<const uint8_t> public_key, std::span<const uint8_t> message,
                     std::span<const uint8_t> signature) {
  if (public_key.size() != Ed25519PrivateKey::kPublicKeySize) {
    return Status::InvalidArgument("an Ed25519 public key must be 32 bytes, not " +
                                   std::to_string(public_key.size()));
  }
  if (signature.size() != Ed25519PrivateKey::kSignatureSize) {
    return Status::InvalidArgument("an Ed25519 signature must be 64 bytes, not " +
                                   std::to_string(signature.size()));
  }
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, public_key.data(),
                                              public_key.size()));
  if (!pkey) {
    Status st = internal::OpenSslError("not an Ed25519 public key");
    return Status::InvalidArgument(st.message());
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, pkey.get(),
                                      nullptr) != 1) {
    return internal::OpenSslError("preparing Ed25519 verification");
  }
  int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                            message.size());
  // Any failure here is a verdict on the data (a bad signature, a point that does not
  // decode), not an internal error; the error queue must not leak into the next call.
  ERR_clear_error();
  if (rc != 1) return Status::Corruption("signature does not verify");
  return Status::Ok();
}

}  // namespace modelvault::crypto
