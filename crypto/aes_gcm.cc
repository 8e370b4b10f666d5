#include "crypto/aes_gcm.h"

#include <openssl/evp.h>

#include "crypto/openssl_util.h"

namespace modelvault::crypto {
namespace {

using internal::CipherCtxPtr;
using internal::OpenSslError;

// One context per thread: reinitialising it with a key costs far less than allocating.
EVP_CIPHER_CTX* ThreadContext() {
  thread_local CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  return ctx.get();
}

int Len(std::span<const uint8_t> s) { return static_cast<int>(s.size()); }

}  // namespace

namespace internal {
const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}
}  // namespace internal

Result<AesGcm> AesGcm::New(std::span<const uint8_t> key) { return New(SecretBytes::CopyOf(key)); }

Result<AesGcm> AesGcm::New(SecretBytes key) {
  if (key.size() != kKeySize) return Status::InvalidArgument("AES-256-GCM key must be 32 bytes");
  if (internal::Aes256Gcm() == nullptr) return OpenSslError("AES-256-GCM is unavailable");
  return AesGcm(std::move(key));
}

Status AesGcm::Seal(std::span<uint8_t> out_cipher, std::span<uint8_t> out_tag,
                    std::span<const uint8_t> nonce, std::span<const uint8_t> aad,
                    std::span<const uint8_t> plain) const {
  if (nonce.size() != kNonceSize || out_tag.size() != kTagSize ||
      out_cipher.size() != plain.size()) {
    return Status::InvalidArgument("AES-GCM seal: bad buffer sizes");
  }
  EVP_CIPHER_CTX* ctx = ThreadContext();
  int len = 0;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx, internal::Aes256Gcm(), nullptr, key_->data(), nonce.data()) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), Len(aad)) != 1) ||
      (!plain.empty() &&
       EVP_EncryptUpdate(ctx, out_cipher.data(), &len, plain.data(), Len(plain)) != 1) ||
      EVP_EncryptFinal_ex(ctx, out_cipher.data() + plain.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, out_tag.data()) != 1) {
    return OpenSslError("AES-GCM seal");
  }
  return Status::Ok();
}

Status AesGcm::Open(std::span<uint8_t> out_plain, std::span<const uint8_t> nonce,
                    std::span<const uint8_t> aad, std::span<const uint8_t> cipher,
                    std::span<const uint8_t> tag) const {
  if (nonce.size() != kNonceSize || tag.size() != kTagSize || out_plain.size() != cipher.size()) {
    return Status::InvalidArgument("AES-GCM open: bad buffer sizes");
  }
  EVP_CIPHER_CTX* ctx = ThreadContext();
  int len = 0;
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx, internal::Aes256Gcm(), nullptr, key_->data(), nonce.data()) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), Len(aad)) != 1) ||
      (!cipher.empty() &&
       EVP_DecryptUpdate(ctx, out_plain.data(), &len, cipher.data(), Len(cipher)) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagSize, const_cast<uint8_t*>(tag.data())) !=
          1) {
    Cleanse(out_plain);
    return OpenSslError("AES-GCM open");
  }
  if (EVP_DecryptFinal_ex(ctx, out_plain.data() + cipher.size(), &len) != 1) {
    ERR_clear_error();
    Cleanse(out_plain);
    return Status::Corruption("authentication tag mismatch");
  }
  return Status::Ok();
}

}  // namespace modelvault::crypto
