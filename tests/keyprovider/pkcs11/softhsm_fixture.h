// SoftHsmFixture: a private SoftHSM2 token store for tests, in a fresh temporary directory
// with its own softhsm2.conf. New() points SOFTHSM2_CONF at it (child processes inherit
// it) and creates the standard token: kTokenLabel, with an AES-256 key kAesKeyLabel (id 01;
// token, sensitive, never extractable, may wrap/unwrap/encrypt/decrypt) and an RSA-2048
// key pair kRsaKeyLabel (id 02; the public half readable without login). Tokens and keys
// are made with softhsm2-util and pkcs11-tool (opensc).
//
// The destructor removes the directory and restores SOFTHSM2_CONF. SoftHSM reads the
// variable in C_Initialize, so a module instance opened before the fixture does not see
// it. Not thread-safe (it changes the environment); one live fixture per process.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace modelvault::test {

class SoftHsmFixture {
 public:
  static constexpr char kTokenLabel[] = "mv-test";
  static constexpr char kSoPin[] = "12345678";
  static constexpr char kUserPin[] = "87654321";
  static constexpr char kAesKeyLabel[] = "mv-aes";
  static constexpr char kAesKeyId[] = "01";
  static constexpr char kRsaKeyLabel[] = "mv-rsa";
  static constexpr char kRsaKeyId[] = "02";

  static Result<std::unique_ptr<SoftHsmFixture>> New();
  ~SoftHsmFixture();
  SoftHsmFixture(const SoftHsmFixture&) = delete;
  SoftHsmFixture& operator=(const SoftHsmFixture&) = delete;

  // The SoftHSM2 PKCS#11 module.
  static std::string ModulePath() { return "/usr/lib/softhsm/libsofthsm2.so"; }
  // `text` as a SecretBytes, for PINs.
  static SecretBytes Pin(const std::string& text);

  const std::string& dir() const { return dir_; }
  const std::string& conf_path() const { return conf_path_; }
  std::string token_label() const { return kTokenLabel; }
  std::string so_pin() const { return kSoPin; }
  std::string user_pin() const { return kUserPin; }
  std::string aes_key_label() const { return kAesKeyLabel; }
  std::string rsa_key_label() const { return kRsaKeyLabel; }

  // Another token in the same store.
  Status InitToken(const std::string& label, const std::string& so_pin, const std::string& pin);
  // Keys as described above, in token `token`; `id_hex` is the CKA_ID ("01").
  Status AddAesKey(const std::string& token, const std::string& pin, const std::string& label,
                   const std::string& id_hex);
  Status AddRsaKeyPair(const std::string& token, const std::string& pin, const std::string& label,
                       const std::string& id_hex);
  // Signing key pairs (private half sensitive, may sign): EC on `curve` (an OpenSSL curve
  // name, "prime256v1", "secp384r1"), and Ed25519 (CKK_EC_EDWARDS, CKA_EC_PARAMS the
  // PrintableString "edwards25519").
  Status AddEcKeyPair(const std::string& token, const std::string& pin, const std::string& label,
                      const std::string& id_hex, const std::string& curve = "prime256v1");
  Status AddEd25519KeyPair(const std::string& token, const std::string& pin,
                           const std::string& label, const std::string& id_hex);
  // The public key object labelled `label` as pkcs11-tool exports it (DER
  // SubjectPublicKeyInfo for EC, PEM for Ed25519): a reading independent of our code.
  Result<std::string> ExportPublicKey(const std::string& token, const std::string& label) const;

 private:
  SoftHsmFixture(std::string dir, std::optional<std::string> saved_conf)
      : dir_(std::move(dir)),
        conf_path_(dir_ + "/softhsm2.conf"),
        saved_conf_(std::move(saved_conf)) {}
  Status Run(const std::vector<std::string>& argv) const;

  const std::string dir_;
  const std::string conf_path_;
  const std::optional<std::string> saved_conf_;
};

}  // namespace modelvault::test
