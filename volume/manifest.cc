#include "volume/manifest.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "base/file_util.h"
#include "crypto/base64.h"
#include "crypto/ecdsa_p256.h"
#include "crypto/ed25519.h"
#include "crypto/hex.h"
#include "crypto/signing_key.h"
#include "volume/content_layout.h"
#include "volume/manifest_json.h"
#include "volume/merkle_stream.h"
#include "volume/volume_header.h"

namespace modelvault::volume {
namespace {

using nlohmann::json;

constexpr char kFormatName[] = "modelvault-manifest";
constexpr int kVersionFormat = 1;

std::string Hex(std::span<const uint8_t> bytes) { return crypto::HexEncode(bytes); }

json EntryToJson(const ManifestEntry& e) {
  json j = {{"path", e.path},
            {"kind", internal::KindName(e.kind)},
            {"size", e.size},
            {"digest", Hex(e.digest)}};
  if (e.kind == ManifestEntry::Kind::kFile) {
    j["file_id"] = Hex(e.file_id.span());
    j["blocks"] = e.blocks;
  }
  return j;
}

json BodyJson(const Manifest& m) {
  json entries = json::array();
  for (const ManifestEntry& e : m.entries) entries.push_back(EntryToJson(e));
  // nlohmann's default object is a std::map: keys come out sorted, as the signature needs.
  return {{"format", kFormatName},
          {"version_format", kVersionFormat},
          {"volume_id", Hex(m.volume_id.span())},
          {"version", m.version},
          {"signed_at", m.signed_at},
          {"directory", m.directory},
          {"block_size", m.block_size},
          {"algorithm", m.algorithm},
          {"public_key", crypto::Base64Encode(m.public_key)},
          {"entries", std::move(entries)}};
}

// Paths and strings are validated on parse and on HashSignedTree, so `replace` never
// fires on a manifest that parsed; it only keeps dump() from throwing on a hand-made one.
std::string Dump(const json& j, int indent) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

Status CheckKey(const internal::FieldReader& r, const Manifest& m) {
  if (m.algorithm == crypto::kEd25519Algorithm) {
    if (m.public_key.size() != crypto::Ed25519PrivateKey::kPublicKeySize) {
      return r.Error("an ed25519 public_key must be 32 bytes");
    }
  } else if (m.algorithm == crypto::kEcdsaP256Algorithm) {
    if (m.public_key.size() != crypto::kP256PublicKeySize || m.public_key[0] != 0x04) {
      return r.Error("an ecdsa-p256-sha256 public_key must be a 65-byte uncompressed point");
    }
  } else {
    return r.Error("unknown algorithm \"" + m.algorithm + "\"");
  }
  // Both algorithms make 64-byte signatures (Ed25519, and P-256's raw r || s).
  if (m.signature.size() != crypto::kP256SignatureSize)
    return r.Error("signature must be 64 bytes");
  return Status::Ok();
}

// Sorted, unique, and every entry's parent directory listed as a directory before it, so
// that a reader can walk the manifest as a tree.
Status CheckEntryOrder(const std::string& path, const Manifest& m) {
  for (size_t i = 0; i < m.entries.size(); ++i) {
    const std::string& p = m.entries[i].path;
    std::string where = path + ": entries[" + std::to_string(i) + "] (\"" + p + "\"): ";
    if (i > 0 && m.entries[i - 1].path >= p) {
      return Status::Corruption(where + (m.entries[i - 1].path == p
                                             ? "duplicate path"
                                             : "entries are not sorted by path"));
    }
    size_t slash = p.rfind('/');
    if (slash == std::string::npos) continue;
    const ManifestEntry* parent = m.Find(std::string_view(p).substr(0, slash));
    if (parent == nullptr || parent->kind != ManifestEntry::Kind::kDir) {
      return Status::Corruption(where + "its parent directory is not a dir entry");
    }
  }
  return Status::Ok();
}

Result<Manifest> FromJson(const json& j, const std::string& path) {
  internal::FieldReader r(j, path);
  MV_RETURN_IF_ERROR(
      r.OnlyFields({"algorithm", "block_size", "directory", "entries", "format", "public_key",
                    "signature", "signed_at", "version", "version_format", "volume_id"}));
  MV_ASSIGN_OR_RETURN(std::string format, r.String("format"));
  if (format != kFormatName) return r.Error("format must be \"" + std::string(kFormatName) + "\"");
  MV_ASSIGN_OR_RETURN(uint64_t version_format, r.Unsigned("version_format"));
  if (version_format != kVersionFormat) {
    return Status::Unsupported(path + ": manifest format version " +
                               std::to_string(version_format) + " is not supported");
  }
  Manifest m;
  MV_ASSIGN_OR_RETURN(m.volume_id.bytes, r.Bytes<16>("volume_id"));
  MV_ASSIGN_OR_RETURN(m.version, r.Unsigned("version"));
  if (m.version == 0) return r.Error("version must be 1 or more");
  MV_ASSIGN_OR_RETURN(m.signed_at, r.String("signed_at"));
  if (!internal::IsRfc3339Utc(m.signed_at)) return r.Error("signed_at is not RFC 3339 UTC");
  MV_ASSIGN_OR_RETURN(m.directory, r.String("directory"));
  if (m.directory.find('/') != std::string::npos || m.directory == "." || m.directory == "..") {
    return r.Error("directory must be one backing name");
  }
  MV_ASSIGN_OR_RETURN(uint64_t block_size, r.Unsigned("block_size"));
  if (!IsValidBlockSize(block_size)) return r.Error("block_size is not a valid block size");
  m.block_size = static_cast<uint32_t>(block_size);
  MV_ASSIGN_OR_RETURN(m.algorithm, r.String("algorithm"));
  MV_ASSIGN_OR_RETURN(m.public_key, r.Base64("public_key"));
  MV_ASSIGN_OR_RETURN(m.signature, r.Base64("signature"));
  MV_RETURN_IF_ERROR(CheckKey(r, m));
  MV_ASSIGN_OR_RETURN(const json* entries, r.Get("entries"));
  if (!entries->is_array()) return r.Error("entries must be an array");
  ContentLayout layout(m.block_size);
  m.entries.reserve(entries->size());
  for (size_t i = 0; i < entries->size(); ++i) {
    MV_ASSIGN_OR_RETURN(ManifestEntry e, internal::ParseEntry((*entries)[i], path, i, layout));
    m.entries.push_back(std::move(e));
  }
  MV_RETURN_IF_ERROR(CheckEntryOrder(path, m));
  return m;
}

}  // namespace

crypto::Digest MerkleLeaf(std::span<const uint8_t> block) {
  static constexpr uint8_t kLeafPrefix = 0x00;
  return crypto::Sha256({std::span<const uint8_t>(&kLeafPrefix, 1), block});
}

crypto::Digest MerkleRoot(std::span<const crypto::Digest> leaves) {
  if (leaves.empty()) {
    const uint8_t empty = 0x02;
    return crypto::Sha256({&empty, 1});
  }
  std::vector<crypto::Digest> level(leaves.begin(), leaves.end());
  while (level.size() > 1) {
    size_t next = 0;
    for (size_t i = 0; i + 1 < level.size(); i += 2) {
      level[next++] = internal::MerkleNode(level[i], level[i + 1]);
    }
    // An odd node out is carried up unchanged rather than paired with itself, so no two
    // different leaf lists share a root by duplication (the CVE-2012-2459 pitfall).
    if (level.size() % 2 == 1) level[next++] = level.back();
    level.resize(next);
  }
  return level.front();
}

Result<Manifest> Manifest::Parse(std::string_view text, const std::string& path) {
  MV_ASSIGN_OR_RETURN(json j, internal::ParseStrictJson(text, path));
  if (!j.is_object()) return Status::Corruption(path + ": not a JSON object");
  return FromJson(j, path);
}

std::string Manifest::SignedBody() const { return Dump(BodyJson(*this), -1); }

std::string Manifest::Serialize() const {
  json j = BodyJson(*this);
  j["signature"] = crypto::Base64Encode(signature);
  return Dump(j, 2) + "\n";
}

const ManifestEntry* Manifest::Find(std::string_view path) const {
  auto it = std::lower_bound(entries.begin(), entries.end(), path,
                             [](const ManifestEntry& e, std::string_view p) { return e.path < p; });
  return it != entries.end() && it->path == path ? &*it : nullptr;
}

bool IsSignedDirInternal(std::string_view name) {
  for (std::string_view reserved : {std::string_view(kManifestFile), std::string_view(kHashesDir),
                                    std::string_view(kFrozenMarker), std::string_view(kHeaderFile),
                                    std::string_view(kLockFile)}) {
    if (name == reserved) return true;
    // WriteFileAtomically's temporary name, left behind by a crash.
    if (name.size() == reserved.size() + 4 && name.starts_with(reserved) &&
        name.ends_with(".tmp")) {
      return true;
    }
  }
  return false;
}

std::string Manifest::KeyId() const { return crypto::SigningKeyId(public_key); }

Result<Manifest> ReadManifest(const std::string& signed_dir) {
  std::string path = signed_dir + "/" + kManifestFile;
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path, kMaxManifestSize));
  return Manifest::Parse({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, path);
}

Status VerifyManifestSignature(const Manifest& manifest, std::span<const TrustedKey> trusted) {
  auto it = std::find_if(trusted.begin(), trusted.end(), [&](const TrustedKey& k) {
    return k.algorithm == manifest.algorithm && k.public_key == manifest.public_key;
  });
  if (it == trusted.end()) {
    return Status::PermissionDenied("signed by an untrusted key " + manifest.KeyId());
  }
  std::string body = manifest.SignedBody();
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  Status st = manifest.algorithm == crypto::kEd25519Algorithm
                  ? crypto::Ed25519Verify(manifest.public_key, bytes, manifest.signature)
                  : crypto::EcdsaP256Verify(manifest.public_key, bytes, manifest.signature);
  // A malformed signature or point (InvalidArgument) is as much a forgery as a wrong one.
  if (!st.ok()) return Status::Corruption("signature does not verify");
  return Status::Ok();
}

}  // namespace modelvault::volume
