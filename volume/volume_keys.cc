#include "volume/volume_keys.h"

#include <string_view>
#include <vector>

#include "crypto/kdf.h"

namespace modelvault::volume {
namespace {

// HKDF-SHA256 labels (docs/FORMAT.md, "Key derivation"). Each subkey has its own label so
// that no two uses of the master key can ever share key material.
constexpr std::string_view kHeaderMacLabel = "modelvault v1 header-mac";
constexpr std::string_view kNamesLabel = "modelvault v1 names";
constexpr std::string_view kXattrLabel = "modelvault v1 xattr";
constexpr std::string_view kContentLabel = "modelvault v1 content";
constexpr std::string_view kAuditLabel = "modelvault v1 audit-signing";
constexpr size_t kAuditSeedSize = 32;
constexpr size_t kHeaderMacKeySize = 32;

Result<SecretBytes> Subkey(const SecretBytes& master, std::span<const uint8_t> info,
                           size_t length) {
  return crypto::HkdfSha256(master.span(), {}, info, length);
}

}  // namespace

Result<std::shared_ptr<const VolumeKeys>> VolumeKeys::Derive(const SecretBytes& master_key) {
  if (master_key.size() != kMasterKeySize) {
    return Status::InvalidArgument("the master key must be " + std::to_string(kMasterKeySize) +
                                   " bytes");
  }
  MV_ASSIGN_OR_RETURN(SecretBytes header_mac,
                      Subkey(master_key, crypto::AsBytes(kHeaderMacLabel), kHeaderMacKeySize));
  MV_ASSIGN_OR_RETURN(SecretBytes name_key,
                      Subkey(master_key, crypto::AsBytes(kNamesLabel), crypto::AesSiv::kKeySize));
  MV_ASSIGN_OR_RETURN(crypto::AesSiv names, crypto::AesSiv::New(name_key.span()));
  MV_ASSIGN_OR_RETURN(SecretBytes xattr_key,
                      Subkey(master_key, crypto::AsBytes(kXattrLabel), crypto::AesGcm::kKeySize));
  MV_ASSIGN_OR_RETURN(crypto::AesGcm xattrs, crypto::AesGcm::New(xattr_key.span()));
  // The constructor is private, so make_shared cannot reach it.
  return std::shared_ptr<const VolumeKeys>(new VolumeKeys(SecretBytes::CopyOf(master_key.span()),
                                                          std::move(header_mac), std::move(names),
                                                          std::move(xattrs)));
}

Result<SecretBytes> VolumeKeys::AuditSeed() const {
  return Subkey(master_, crypto::AsBytes(kAuditLabel), kAuditSeedSize);
}

Result<crypto::AesGcm> VolumeKeys::ContentCipher(const FileId& file_id) const {
  // info = label || file ID: binding the ID gives every file its own key, which keeps the
  // number of random nonces under any one key far below the GCM limit.
  std::vector<uint8_t> info(kContentLabel.begin(), kContentLabel.end());
  info.insert(info.end(), file_id.bytes.begin(), file_id.bytes.end());
  MV_ASSIGN_OR_RETURN(SecretBytes key, Subkey(master_, info, crypto::AesGcm::kKeySize));
  return crypto::AesGcm::New(std::move(key));
}

Result<crypto::Digest> VolumeKeys::HeaderMac(std::span<const uint8_t> data) const {
  return crypto::HmacSha256(header_mac_.span(), data);
}

}  // namespace modelvault::volume
