// VolumeKeys: the subkeys of one volume, derived from its master key by HKDF-SHA256 with
// distinct labels (docs/FORMAT.md, "Key derivation"). Holds a copy of the master key in
// locked memory for per-file derivation. Immutable and thread-safe after Derive().
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "crypto/aes_gcm.h"
#include "crypto/aes_siv.h"
#include "crypto/hash.h"
#include "volume/ids.h"

namespace modelvault::volume {

inline constexpr size_t kMasterKeySize = 32;

class VolumeKeys {
 public:
  static Result<std::shared_ptr<const VolumeKeys>> Derive(const SecretBytes& master_key);

  // Deterministic cipher for names and symlink targets.
  const crypto::AesSiv& names() const { return names_; }
  // Cipher for extended attribute values.
  const crypto::AesGcm& xattrs() const { return xattrs_; }
  // The 32-byte seed of the store's Ed25519 audit-signing key: anyone who can unlock the
  // store can sign audit records; the public key in the header verifies them.
  Result<SecretBytes> AuditSeed() const;
  // The content cipher of one file, keyed by HKDF(MK, label || file ID).
  Result<crypto::AesGcm> ContentCipher(const FileId& file_id) const;
  // HMAC-SHA256 under the header MAC key.
  Result<crypto::Digest> HeaderMac(std::span<const uint8_t> data) const;

 private:
  VolumeKeys(SecretBytes master, SecretBytes header_mac, crypto::AesSiv names,
             crypto::AesGcm xattrs)
      : master_(std::move(master)),
        header_mac_(std::move(header_mac)),
        names_(std::move(names)),
        xattrs_(std::move(xattrs)) {}
  SecretBytes master_;
  SecretBytes header_mac_;
  crypto::AesSiv names_;
  crypto::AesGcm xattrs_;
};

}  // namespace modelvault::volume
