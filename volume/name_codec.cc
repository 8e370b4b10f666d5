#include "volume/name_codec.h"

#include <cerrno>

#include "crypto/base64.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"

namespace modelvault::volume {
namespace {

constexpr std::string_view kLongPrefix = ".L";
constexpr std::string_view kSidecarSuffix = ".name";
constexpr std::string_view kLinkLabel = "modelvault v1 symlink";

}  // namespace

Result<EncodedName> NameCodec::Encode(const DirId& dir, std::string_view plain) const {
  if (plain.empty() || plain == "." || plain == ".." || plain.find('/') != std::string_view::npos ||
      plain.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("invalid file name");
  }
  if (plain.size() > kMaxPlainName) {
    return Status::FromErrno(ENAMETOOLONG, "file name longer than 255 bytes");
  }
  MV_ASSIGN_OR_RETURN(auto sealed, keys_->names().Encrypt({dir.span()}, crypto::AsBytes(plain)));
  EncodedName out;
  out.sealed = crypto::Base64UrlEncode(sealed);
  if (out.sealed.size() <= kMaxBackingName) {
    out.backing = out.sealed;
  } else {
    auto digest = crypto::Sha256(crypto::AsBytes(out.sealed));
    out.backing = std::string(kLongPrefix) + crypto::Base64UrlEncode(digest);
  }
  return out;
}

Result<std::string> NameCodec::Decode(const DirId& dir, std::string_view sealed) const {
  MV_ASSIGN_OR_RETURN(auto raw, crypto::Base64UrlDecode(sealed));
  MV_ASSIGN_OR_RETURN(auto plain, keys_->names().Decrypt({dir.span()}, raw));
  std::string name(plain.begin(), plain.end());
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    return Status::Corruption("decrypted name is not a valid file name");
  }
  return name;
}

Result<std::string> NameCodec::EncodeLinkTarget(std::string_view plain) const {
  MV_ASSIGN_OR_RETURN(
      auto sealed, keys_->names().Encrypt({crypto::AsBytes(kLinkLabel)}, crypto::AsBytes(plain)));
  return crypto::Base64UrlEncode(sealed);
}

Result<std::string> NameCodec::DecodeLinkTarget(std::string_view sealed) const {
  MV_ASSIGN_OR_RETURN(auto raw, crypto::Base64UrlDecode(sealed));
  MV_ASSIGN_OR_RETURN(auto plain, keys_->names().Decrypt({crypto::AsBytes(kLinkLabel)}, raw));
  return std::string(plain.begin(), plain.end());
}

NameCodec::EntryKind NameCodec::Classify(std::string_view backing_name) {
  if (backing_name.find('.') == std::string_view::npos) return EntryKind::kRegular;
  if (backing_name.starts_with(kLongPrefix) &&
      backing_name.find('.', kLongPrefix.size()) == std::string_view::npos) {
    return EntryKind::kLong;
  }
  return EntryKind::kInternal;
}

std::string NameCodec::LongNameSidecar(std::string_view long_backing_name) {
  return std::string(long_backing_name) + std::string(kSidecarSuffix);
}

}  // namespace modelvault::volume
