// The PKCS#11 manifest signer against SoftHSM2 (2.6.1 has CKM_ECDSA and CKM_EDDSA):
// signatures that verify in software under the public key the token exports, and the
// errors for a missing PIN, a wrong one, missing or ambiguous keys and unsupported curves.
#include "keyprovider/pkcs11_signer.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <thread>

#include "crypto/base64.h"
#include "crypto/ecdsa_p256.h"
#include "crypto/ed25519.h"
#include "tests/keyprovider/pkcs11/softhsm_fixture.h"

// SoftHSM 2.6.1 leaks the ASN1_PRINTABLESTRING it decodes from an Ed25519 key's
// CKA_EC_PARAMS in every C_SignInit (fixed upstream by SoftHSMv2 pull request #858). Only
// leaks allocated from inside SoftHSM are suppressed. For LeakSanitizer to see SoftHSM in
// those stacks, malloc stacks are unwound through libcrypto (which has no frame pointers)
// and SetUpTestSuite keeps the module mapped (RTLD_NODELETE) until the process exits.
extern "C" const char* __lsan_default_suppressions() { return "leak:libsofthsm2.so\n"; }
extern "C" const char* __asan_default_options() { return "fast_unwind_on_malloc=0"; }

namespace modelvault::keyprovider {
namespace {

using F = test::SoftHsmFixture;

constexpr char kEcLabel[] = "mv-ec";      // P-256, id 03
constexpr char kEdLabel[] = "mv-ed";      // Ed25519, id 04
constexpr char kP384Label[] = "mv-p384";  // id 05
constexpr char kDupToken[] = "mv-sigdup";

std::vector<uint8_t> Bytes(const std::string& text) { return {text.begin(), text.end()}; }

class Pkcs11SignerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_NE(dlopen(F::ModulePath().c_str(), RTLD_NOW | RTLD_NODELETE), nullptr) << dlerror();
    auto made = F::New();
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    hsm_ = std::move(made).value().release();
    ASSERT_TRUE(hsm_->AddEcKeyPair(F::kTokenLabel, F::kUserPin, kEcLabel, "03").ok());
    Status ed = hsm_->AddEd25519KeyPair(F::kTokenLabel, F::kUserPin, kEdLabel, "04");
    ASSERT_TRUE(ed.ok()) << ed.ToString();
    ASSERT_TRUE(
        hsm_->AddEcKeyPair(F::kTokenLabel, F::kUserPin, kP384Label, "05", "secp384r1").ok());
    ASSERT_TRUE(hsm_->InitToken(kDupToken, F::kSoPin, F::kUserPin).ok());
    ASSERT_TRUE(hsm_->AddEcKeyPair(kDupToken, F::kUserPin, "dup", "11").ok());
    ASSERT_TRUE(hsm_->AddEcKeyPair(kDupToken, F::kUserPin, "dup", "12").ok());
  }
  static void TearDownTestSuite() { delete std::exchange(hsm_, nullptr); }

  // A signer on SoftHSM; pin "" means no PIN.
  static Result<std::unique_ptr<volume::ManifestSigner>> Signer(
      const std::string& uri, const std::string& pin = F::kUserPin) {
    Pkcs11Options options{uri, F::ModulePath(), std::nullopt};
    if (!pin.empty()) options.pin = F::Pin(pin);
    return NewPkcs11Signer(options);
  }
  static std::unique_ptr<volume::ManifestSigner> SignerOrDie(const std::string& uri) {
    auto signer = Signer(uri);
    EXPECT_TRUE(signer.ok()) << signer.status().ToString();
    return signer.ok() ? std::move(signer).value() : nullptr;
  }
  // The last `size` bytes of the public key as pkcs11-tool exports it: the point (or the
  // Ed25519 key) ends a SubjectPublicKeyInfo.
  static std::vector<uint8_t> ExportedKey(const std::string& label, size_t size) {
    auto exported = hsm_->ExportPublicKey(F::kTokenLabel, label);
    EXPECT_TRUE(exported.ok()) << exported.status().ToString();
    if (!exported.ok()) return {};
    std::vector<uint8_t> der = Bytes(*exported);
    if (exported->rfind("-----BEGIN", 0) == 0) {
      std::string b64;
      std::string text = *exported;
      for (size_t pos = 0, end; pos < text.size(); pos = end + 1) {
        end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(pos, end - pos);
        if (line.rfind("-----", 0) != 0) b64 += line;
      }
      auto decoded = crypto::Base64Decode(b64);
      EXPECT_TRUE(decoded.ok()) << b64;
      der = decoded.ok() ? *decoded : std::vector<uint8_t>();
    }
    if (der.size() < size) return {};
    return std::vector<uint8_t>(der.end() - static_cast<ptrdiff_t>(size), der.end());
  }
  static bool Contains(const Status& st, const std::string& text) {
    return st.message().find(text) != std::string::npos;
  }

  static inline F* hsm_ = nullptr;
};

TEST_F(Pkcs11SignerTest, P256KeySignsEcdsaThatVerifies) {
  auto signer = SignerOrDie("pkcs11:token=mv-test;object=mv-ec");
  ASSERT_TRUE(signer);
  EXPECT_EQ(signer->Algorithm(), "ecdsa-p256-sha256");
  std::vector<uint8_t> public_key = signer->PublicKey();
  ASSERT_EQ(public_key.size(), crypto::kP256PublicKeySize);
  EXPECT_EQ(public_key, ExportedKey(kEcLabel, crypto::kP256PublicKeySize));
  std::vector<uint8_t> body = Bytes("{\"entries\":[]}");
  for (int i = 0; i < 3; ++i) {
    auto sig = signer->Sign(body);
    ASSERT_TRUE(sig.ok()) << sig.status().ToString();
    ASSERT_EQ(sig->size(), crypto::kP256SignatureSize);
    Status st = crypto::EcdsaP256Verify(public_key, body, *sig);
    EXPECT_TRUE(st.ok()) << st.ToString();
    std::vector<uint8_t> other = body;
    other.back() ^= 1;
    EXPECT_EQ(crypto::EcdsaP256Verify(public_key, other, *sig).code(), Code::kCorruption);
  }
  // An empty body is a body too.
  auto sig = signer->Sign({});
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_TRUE(crypto::EcdsaP256Verify(public_key, {}, *sig).ok());
}

TEST_F(Pkcs11SignerTest, Ed25519KeySignsWithEddsa) {
  auto signer = SignerOrDie("pkcs11:token=mv-test;object=mv-ed");
  ASSERT_TRUE(signer);
  EXPECT_EQ(signer->Algorithm(), "ed25519");
  std::vector<uint8_t> public_key = signer->PublicKey();
  ASSERT_EQ(public_key.size(), crypto::Ed25519PrivateKey::kPublicKeySize);
  EXPECT_EQ(public_key, ExportedKey(kEdLabel, crypto::Ed25519PrivateKey::kPublicKeySize));
  std::vector<uint8_t> body = Bytes("manifest body");
  auto sig = signer->Sign(body);
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_TRUE(crypto::Ed25519Verify(public_key, body, *sig).ok());
  // Ed25519 is deterministic: the same body gives the same signature.
  auto again = signer->Sign(body);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *sig);
}

TEST_F(Pkcs11SignerTest, KeyChosenByIdAndEitherHalfOfThePair) {
  auto by_id = SignerOrDie("pkcs11:token=mv-test;id=%03");
  auto by_public = SignerOrDie("pkcs11:token=mv-test;object=mv-ec;type=public");
  auto by_private = SignerOrDie("pkcs11:token=mv-test;object=mv-ec;type=private");
  ASSERT_TRUE(by_id && by_public && by_private);
  EXPECT_EQ(by_id->PublicKey(), by_public->PublicKey());
  EXPECT_EQ(by_id->PublicKey(), by_private->PublicKey());
  auto sig = by_public->Sign(Bytes("x"));
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_TRUE(crypto::EcdsaP256Verify(by_id->PublicKey(), Bytes("x"), *sig).ok());
}

TEST_F(Pkcs11SignerTest, NoPinIsInvalidArgument) {
  auto signer = Signer("pkcs11:token=mv-test;object=mv-ec", "");
  EXPECT_EQ(signer.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(signer.status().message(), "the token's PIN is needed to sign (--pin-file)");
}

TEST_F(Pkcs11SignerTest, WrongPinIsPermissionDeniedNamingTheToken) {
  auto signer = Signer("pkcs11:token=mv-test;object=mv-ec", "00000000");
  EXPECT_EQ(signer.status().code(), Code::kPermissionDenied);
  EXPECT_TRUE(Contains(signer.status(), "wrong PIN for token 'mv-test'"))
      << signer.status().message();
  EXPECT_FALSE(Contains(signer.status(), "00000000"));
  // The right PIN still works (the wrong one did not lock the token).
  EXPECT_TRUE(Signer("pkcs11:token=mv-test;object=mv-ec").ok());
}

TEST_F(Pkcs11SignerTest, PinInTheUriIsRefusedWithoutEchoingIt) {
  auto signer = Signer("pkcs11:token=mv-test;object=mv-ec;pin-value=87654321");
  EXPECT_EQ(signer.status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(Contains(signer.status(), "87654321")) << signer.status().message();
  signer = Signer("pkcs11:token=mv-test;object=mv-ec?pin-source=file:/tmp/pin");
  EXPECT_EQ(signer.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Contains(signer.status(), "--pin-file"));
}

TEST_F(Pkcs11SignerTest, MissingKeyOrTokenIsNotFound) {
  auto signer = Signer("pkcs11:token=mv-test;object=nope");
  EXPECT_EQ(signer.status().code(), Code::kNotFound);
  EXPECT_TRUE(Contains(signer.status(), "P-256 or Ed25519")) << signer.status().message();
  // Keys that cannot sign manifests do not match: an RSA pair, an AES key.
  EXPECT_EQ(Signer("pkcs11:token=mv-test;object=mv-rsa").status().code(), Code::kNotFound);
  EXPECT_EQ(Signer("pkcs11:token=mv-test;object=mv-aes").status().code(), Code::kNotFound);
  EXPECT_EQ(Signer("pkcs11:token=nope;object=mv-ec").status().code(), Code::kNotFound);
}

TEST_F(Pkcs11SignerTest, TwoMatchingKeysAreRefused) {
  auto signer = Signer("pkcs11:token=mv-sigdup;object=dup");
  EXPECT_EQ(signer.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Contains(signer.status(), "2 keys match")) << signer.status().message();
  // The whole token holds two too; an id chooses one.
  EXPECT_EQ(Signer("pkcs11:token=mv-sigdup").status().code(), Code::kInvalidArgument);
  auto one = Signer("pkcs11:token=mv-sigdup;object=dup;id=%12");
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  auto sig = (*one)->Sign(Bytes("body"));
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_TRUE(crypto::EcdsaP256Verify((*one)->PublicKey(), Bytes("body"), *sig).ok());
}

TEST_F(Pkcs11SignerTest, OtherCurvesAndObjectTypesAreRefused) {
  auto signer = Signer("pkcs11:token=mv-test;object=mv-p384");
  EXPECT_EQ(signer.status().code(), Code::kUnsupported);
  EXPECT_TRUE(Contains(signer.status(), "P-256")) << signer.status().message();
  EXPECT_EQ(Signer("pkcs11:token=mv-test;object=mv-ec;type=secret-key").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Signer("").status().code(), Code::kInvalidArgument);
}

TEST_F(Pkcs11SignerTest, ThreadsShareOneSigner) {
  auto signer = SignerOrDie("pkcs11:token=mv-test;object=mv-ec");
  ASSERT_TRUE(signer);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<uint8_t> body = Bytes("body " + std::to_string(t));
      for (int i = 0; i < 3; ++i) {
        auto sig = signer->Sign(body);
        if (sig.ok() && crypto::EcdsaP256Verify(signer->PublicKey(), body, *sig).ok()) ++ok[t];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok, std::vector<int>(4, 3));
}

}  // namespace
}  // namespace modelvault::keyprovider
