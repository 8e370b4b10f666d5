// A ManifestSigner (manifest.h) backed by a publisher's Ed25519 private key in a PKCS#8 PEM
// file (crypto/signing_key.h; `modelvault signing-key generate` writes one). The key is
// read once and kept in OpenSSL's memory, which is cleansed when the signer is destroyed.
// Sign() may be called from several threads at once.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "volume/manifest.h"

namespace modelvault::volume {

// The signer for the key in `pem_path`; errors name the file and what is wrong with it (not
// PEM, encrypted, not an Ed25519 private key).
Result<std::unique_ptr<ManifestSigner>> NewFileSigner(const std::string& pem_path);

}  // namespace modelvault::volume
