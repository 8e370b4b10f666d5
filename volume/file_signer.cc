#include "volume/file_signer.h"

#include "crypto/ed25519.h"
#include "crypto/signing_key.h"

namespace modelvault::volume {
namespace {

class FileSigner final : public ManifestSigner {
 public:
  explicit FileSigner(crypto::Ed25519PrivateKey key) : key_(std::move(key)) {}

  std::string Algorithm() const override { return crypto::kEd25519Algorithm; }
  std::vector<uint8_t> PublicKey() const override { return key_.PublicKey(); }
  Result<std::vector<uint8_t>> Sign(std::span<const uint8_t> body) override {
    return key_.Sign(body);
  }

 private:
  const crypto::Ed25519PrivateKey key_;
};

}  // namespace

Result<std::unique_ptr<ManifestSigner>> NewFileSigner(const std::string& pem_path) {
  MV_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, crypto::LoadSigningKeyPem(pem_path));
  return std::unique_ptr<ManifestSigner>(std::make_unique<FileSigner>(std::move(key)));
}

}  // namespace modelvault::volume
