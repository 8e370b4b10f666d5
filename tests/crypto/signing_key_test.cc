// Publisher key PEM files (crypto/signing_key.h): generate and load round trips, refusing
// to overwrite, and clear errors for the wrong kind of key or file. Keys of other types are
// made here with OpenSSL directly (this test target links it).
#include "crypto/signing_key.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "base/file_util.h"
#include "tests/crypto/test_hex.h"

namespace modelvault::crypto {
namespace {

using test::Bytes;
using test::ToHex;

class SigningKeyTest : public ::testing::Test {
 protected:
  SigningKeyTest() {
    std::string tmpl = ::testing::TempDir() + "mv_signing_key_XXXXXX";
    dir_ = mkdtemp(tmpl.data());
  }
  ~SigningKeyTest() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  void Write(const std::string& name, const std::string& text) {
    ASSERT_TRUE(WriteNewFile(Path(name), Bytes(text), 0600).ok());
  }
  std::string Read(const std::string& name) {
    auto bytes = ReadFileBytes(Path(name), 1 << 16);
    return bytes.ok() ? std::string(bytes->begin(), bytes->end()) : "";
  }
  // Writes a key of `type` ("EC" with P-256/P-384, "ED448", ...) made by OpenSSL.
  void WriteOpenSslKey(const std::string& name, EVP_PKEY* key, bool private_key,
                       const EVP_CIPHER* cipher = nullptr) {
    BIO* bio = BIO_new(BIO_s_mem());
    int ok = private_key ? PEM_write_bio_PKCS8PrivateKey(bio, key, cipher, nullptr, 0, nullptr,
                                                         const_cast<char*>("secret"))
                         : PEM_write_bio_PUBKEY(bio, key);
    ASSERT_EQ(ok, 1);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    Write(name, std::string(data, static_cast<size_t>(len)));
    BIO_free(bio);
  }
  template <class Fn>
  void WithKey(const char* type, const char* curve, Fn fn) {
    EVP_PKEY* key = curve ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, curve)
                          : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
    ASSERT_NE(key, nullptr);
    fn(key);
    EVP_PKEY_free(key);
  }

  std::string dir_;
};

TEST_F(SigningKeyTest, GenerateAndLoadRoundTrip) {
  auto made = GenerateSigningKeyFiles(Path("priv.pem"), Path("pub.pem"));
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->algorithm, "ed25519");
  ASSERT_EQ(made->key.size(), 32u);
  struct stat st;
  ASSERT_EQ(stat(Path("priv.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(Read("priv.pem").rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  EXPECT_EQ(Read("pub.pem").rfind("-----BEGIN PUBLIC KEY-----\n", 0), 0u);

  auto priv = LoadSigningKeyPem(Path("priv.pem"));
  ASSERT_TRUE(priv.ok()) << priv.status().ToString();
  EXPECT_EQ(priv->PublicKey(), made->key);
  auto pub = LoadPublicKeyPem(Path("pub.pem"));
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  EXPECT_EQ(pub->algorithm, "ed25519");
  EXPECT_EQ(pub->key, made->key);
  auto sig = priv->Sign(Bytes("body"));
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(Ed25519Verify(pub->key, Bytes("body"), *sig).ok());
}

TEST_F(SigningKeyTest, NeverOverwrites) {
  ASSERT_TRUE(GenerateSigningKeyFiles(Path("priv.pem"), Path("pub.pem")).ok());
  std::string priv = Read("priv.pem"), pub = Read("pub.pem");
  auto again = GenerateSigningKeyFiles(Path("priv.pem"), Path("pub2.pem"));
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);
  EXPECT_NE(again.status().message().find("priv.pem"), std::string::npos);
  auto other = GenerateSigningKeyFiles(Path("priv2.pem"), Path("pub.pem"));
  EXPECT_EQ(other.status().code(), Code::kAlreadyExists);
  EXPECT_FALSE(std::filesystem::exists(Path("priv2.pem")));
  EXPECT_FALSE(std::filesystem::exists(Path("pub2.pem")));
  EXPECT_EQ(Read("priv.pem"), priv);
  EXPECT_EQ(Read("pub.pem"), pub);
  EXPECT_EQ(GenerateSigningKeyFiles(Path("same"), Path("same")).status().code(),
            Code::kInvalidArgument);
}

TEST_F(SigningKeyTest, PublicAndPrivateMixedUp) {
  ASSERT_TRUE(GenerateSigningKeyFiles(Path("priv.pem"), Path("pub.pem")).ok());
  auto priv = LoadSigningKeyPem(Path("pub.pem"));
  EXPECT_EQ(priv.status().code(), Code::kInvalidArgument);
  EXPECT_NE(priv.status().message().find("holds a public key"), std::string::npos);
  auto pub = LoadPublicKeyPem(Path("priv.pem"));
  EXPECT_EQ(pub.status().code(), Code::kInvalidArgument);
  EXPECT_NE(pub.status().message().find("holds a private key"), std::string::npos);
}

TEST_F(SigningKeyTest, EcP256PublicKey) {
  WithKey("EC", "P-256", [&](EVP_PKEY* key) {
    WriteOpenSslKey("ec.pub.pem", key, false);
    auto pub = LoadPublicKeyPem(Path("ec.pub.pem"));
    ASSERT_TRUE(pub.ok()) << pub.status().ToString();
    EXPECT_EQ(pub->algorithm, "ecdsa-p256-sha256");
    uint8_t point[65];
    size_t len = 0;
    ASSERT_EQ(
        EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &len),
        1);
    ASSERT_EQ(len, 65u);
    EXPECT_EQ(ToHex(pub->key), ToHex(point));
    // A token's EC key cannot be a signing key file: those are Ed25519.
    WriteOpenSslKey("ec.pem", key, true);
    auto priv = LoadSigningKeyPem(Path("ec.pem"));
    EXPECT_EQ(priv.status().code(), Code::kInvalidArgument);
    EXPECT_NE(priv.status().message().find("EC"), std::string::npos) << priv.status().ToString();
  });
}

TEST_F(SigningKeyTest, WrongKeyTypes) {
  WithKey("EC", "P-384", [&](EVP_PKEY* key) {
    WriteOpenSslKey("p384.pub.pem", key, false);
    auto pub = LoadPublicKeyPem(Path("p384.pub.pem"));
    EXPECT_EQ(pub.status().code(), Code::kInvalidArgument);
    EXPECT_NE(pub.status().message().find("only P-256"), std::string::npos)
        << pub.status().ToString();
  });
  WithKey("ED448", nullptr, [&](EVP_PKEY* key) {
    WriteOpenSslKey("ed448.pub.pem", key, false);
    WriteOpenSslKey("ed448.pem", key, true);
    auto pub = LoadPublicKeyPem(Path("ed448.pub.pem"));
    EXPECT_EQ(pub.status().code(), Code::kInvalidArgument);
    EXPECT_NE(pub.status().message().find("ED448"), std::string::npos) << pub.status().ToString();
    auto priv = LoadSigningKeyPem(Path("ed448.pem"));
    EXPECT_EQ(priv.status().code(), Code::kInvalidArgument);
    EXPECT_NE(priv.status().message().find(Path("ed448.pem")), std::string::npos);
  });
}

TEST_F(SigningKeyTest, EncryptedKeyIsUnsupportedWithoutPrompting) {
  WithKey("ED25519", nullptr, [&](EVP_PKEY* key) {
    WriteOpenSslKey("enc.pem", key, true, EVP_aes_256_cbc());
    auto priv = LoadSigningKeyPem(Path("enc.pem"));
    EXPECT_EQ(priv.status().code(), Code::kUnsupported);
    EXPECT_NE(priv.status().message().find("encrypted"), std::string::npos);
  });
}

TEST_F(SigningKeyTest, Garbage) {
  Write("text", "hello\n");
  Write("empty", "");
  Write("bad.pem", "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n");
  Write("badpub.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
  for (const char* name : {"text", "empty", "bad.pem"}) {
    auto priv = LoadSigningKeyPem(Path(name));
    EXPECT_EQ(priv.status().code(), Code::kInvalidArgument) << name;
    EXPECT_EQ(priv.status().message().rfind(Path(name), 0), 0u) << priv.status().ToString();
  }
  for (const char* name : {"text", "empty", "badpub.pem"}) {
    auto pub = LoadPublicKeyPem(Path(name));
    EXPECT_EQ(pub.status().code(), Code::kInvalidArgument) << name;
    EXPECT_EQ(pub.status().message().rfind(Path(name), 0), 0u) << pub.status().ToString();
  }
  EXPECT_FALSE(LoadPublicKeyPem(Path("missing")).ok());
}

TEST(SigningKeyIdTest, KnownAnswer) {
  std::vector<uint8_t> zeros(32, 0);
  EXPECT_EQ(SigningKeyId(zeros),
            "sha256:66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925");
}

}  // namespace
}  // namespace modelvault::crypto
