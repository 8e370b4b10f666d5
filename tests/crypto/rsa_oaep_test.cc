// RsaOaepEncrypt against OpenSSL's own RSA-OAEP decryption with a freshly generated key:
// the ciphertext must decrypt only under the same OAEP/MGF1 hash. (SoftHSM decrypting our
// ciphertext is checked in tests/keyprovider/pkcs11.)
#include "crypto/rsa_oaep.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace modelvault::crypto {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct BnDeleter {
  void operator()(BIGNUM* b) const { BN_free(b); }
};

std::vector<uint8_t> BnBytes(const EVP_PKEY* key, const char* name) {
  BIGNUM* raw = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &raw), 1);
  std::unique_ptr<BIGNUM, BnDeleter> bn(raw);
  std::vector<uint8_t> out(BN_num_bytes(bn.get()));
  BN_bn2bin(bn.get(), out.data());
  return out;
}

class RsaOaepTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { key_ = EVP_RSA_gen(2048); }
  static void TearDownTestSuite() { EVP_PKEY_free(std::exchange(key_, nullptr)); }

  Result<std::vector<uint8_t>> Encrypt(OaepHash hash, const std::vector<uint8_t>& plaintext) {
    return RsaOaepEncrypt(BnBytes(key_, OSSL_PKEY_PARAM_RSA_N),
                          BnBytes(key_, OSSL_PKEY_PARAM_RSA_E), hash, plaintext);
  }
  // OpenSSL's decryption with `md` for both OAEP and MGF1; nullopt if it fails.
  std::optional<std::vector<uint8_t>> Decrypt(const char* md, const std::vector<uint8_t>& in) {
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(
        EVP_PKEY_CTX_new_from_pkey(nullptr, key_, nullptr));
    EXPECT_EQ(EVP_PKEY_decrypt_init(ctx.get()), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx.get(), md, nullptr), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx.get(), md, nullptr), 1);
    std::vector<uint8_t> out(512);
    size_t size = out.size();
    if (EVP_PKEY_decrypt(ctx.get(), out.data(), &size, in.data(), in.size()) <= 0) {
      return std::nullopt;
    }
    out.resize(size);
    return out;
  }

  static EVP_PKEY* key_;
};
EVP_PKEY* RsaOaepTest::key_ = nullptr;

TEST_F(RsaOaepTest, Sha256RoundTripsThroughOpenSsl) {
  std::vector<uint8_t> kek(32, 0x5a);
  auto ct = Encrypt(OaepHash::kSha256, kek);
  ASSERT_TRUE(ct.ok()) << ct.status().ToString();
  EXPECT_EQ(ct->size(), 256u);
  EXPECT_EQ(Decrypt("SHA256", *ct), kek);
  EXPECT_EQ(Decrypt("SHA1", *ct), std::nullopt);
}

TEST_F(RsaOaepTest, Sha1RoundTripsThroughOpenSsl) {
  std::vector<uint8_t> kek(32, 0xa5);
  auto ct = Encrypt(OaepHash::kSha1, kek);
  ASSERT_TRUE(ct.ok()) << ct.status().ToString();
  EXPECT_EQ(Decrypt("SHA1", *ct), kek);
  EXPECT_EQ(Decrypt("SHA256", *ct), std::nullopt);
}

TEST_F(RsaOaepTest, EncryptionIsRandomized) {
  std::vector<uint8_t> kek(32, 1);
  auto a = Encrypt(OaepHash::kSha256, kek);
  auto b = Encrypt(OaepHash::kSha256, kek);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST_F(RsaOaepTest, PlaintextTooLongIsInvalidArgument) {
  // 2048-bit modulus, SHA-256: at most 256 - 2 * 32 - 2 = 190 bytes.
  EXPECT_TRUE(Encrypt(OaepHash::kSha256, std::vector<uint8_t>(190, 1)).ok());
  EXPECT_EQ(Encrypt(OaepHash::kSha256, std::vector<uint8_t>(191, 1)).status().code(),
            Code::kInvalidArgument);
}

TEST(RsaOaepEncryptTest, MissingKeyPartsAreInvalidArgument) {
  std::vector<uint8_t> e = {1, 0, 1};
  std::vector<uint8_t> kek(32, 1);
  EXPECT_EQ(RsaOaepEncrypt({}, e, OaepHash::kSha256, kek).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(
      RsaOaepEncrypt(std::vector<uint8_t>(256, 0xff), {}, OaepHash::kSha256, kek).status().code(),
      Code::kInvalidArgument);
}

}  // namespace
}  // namespace modelvault::crypto
