#include "crypto/aes_siv.h"

#include <openssl/evp.h>

#include "crypto/openssl_util.h"

namespace modelvault::crypto {
namespace {

using internal::CipherCtxPtr;
using internal::OpenSslError;

int Len(std::span<const uint8_t> s) { return static_cast<int>(s.size()); }

// OpenSSL's SIV takes an update with a null input as the final call, so an empty
// associated-data string (whose span may well have a null data()) must still point somewhere
// to count as one empty string of the RFC 5297 vector.
const uint8_t* NonNull(std::span<const uint8_t> s) {
  static const uint8_t kEmpty = 0;
  return s.empty() ? &kEmpty : s.data();
}

}  // namespace

namespace internal {
const EVP_CIPHER* Aes256Siv() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-SIV", nullptr);
  return cipher;
}
}  // namespace internal

Result<AesSiv> AesSiv::New(std::span<const uint8_t> key) {
  if (key.size() != kKeySize) return Status::InvalidArgument("AES-256-SIV key must be 64 bytes");
  if (internal::Aes256Siv() == nullptr) return OpenSslError("AES-256-SIV is unavailable");
  return AesSiv(SecretBytes::CopyOf(key));
}

// OpenSSL's SIV takes each associated-data string as one update with a null output, which is
// exactly the vector of strings RFC 5297 authenticates.
Result<std::vector<uint8_t>> AesSiv::Encrypt(
    std::initializer_list<std::span<const uint8_t>> associated,
    std::span<const uint8_t> plain) const {
  // OpenSSL 3.0 skips a zero-length plaintext update and then fails the final call.
  if (plain.empty()) return Status::Unsupported("AES-SIV cannot encrypt an empty plaintext");
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  std::vector<uint8_t> out(kTagSize + plain.size());
  int len = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), internal::Aes256Siv(), nullptr, key_->data(), nullptr) != 1) {
    return OpenSslError("AES-SIV init");
  }
  for (auto ad : associated) {
    if (EVP_EncryptUpdate(ctx.get(), nullptr, &len, NonNull(ad), Len(ad)) != 1) {
      return OpenSslError("AES-SIV associated data");
    }
  }
  if (EVP_EncryptUpdate(ctx.get(), out.data() + kTagSize, &len, plain.data(), Len(plain)) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + kTagSize + plain.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kTagSize, out.data()) != 1) {
    return OpenSslError("AES-SIV encrypt");
  }
  return out;
}

Result<std::vector<uint8_t>> AesSiv::Decrypt(
    std::initializer_list<std::span<const uint8_t>> associated,
    std::span<const uint8_t> sealed) const {
  // Encrypt() never produces a bare tag, and OpenSSL would take an empty ciphertext update
  // (null output) for one more associated-data string.
  if (sealed.size() <= kTagSize) return Status::Corruption("AES-SIV input has no ciphertext");
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  auto cipher = sealed.subspan(kTagSize);
  std::vector<uint8_t> out(cipher.size());
  int len = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), internal::Aes256Siv(), nullptr, key_->data(), nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagSize,
                          const_cast<uint8_t*>(sealed.data())) != 1) {
    return OpenSslError("AES-SIV init");
  }
  for (auto ad : associated) {
    if (EVP_DecryptUpdate(ctx.get(), nullptr, &len, NonNull(ad), Len(ad)) != 1) {
      return OpenSslError("AES-SIV associated data");
    }
  }
  // With SIV the tag is checked inside the update that carries the ciphertext.
  if (EVP_DecryptUpdate(ctx.get(), out.data(), &len, cipher.data(), Len(cipher)) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out.data() + out.size(), &len) != 1) {
    ERR_clear_error();
    Cleanse(out);
    return Status::Corruption("AES-SIV authentication failed");
  }
  return out;
}

}  // namespace modelvault::crypto
