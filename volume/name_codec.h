// NameCodec: plaintext names <-> backing names (docs/FORMAT.md, "Names").
//
// A name is sealed with AES-256-SIV under the volume's name key, with the parent
// directory's random ID as associated data, and spelled in unpadded base64url. Such names
// never contain '.', which keeps every name that does free for modelvault's own files.
// A sealed name longer than kMaxBackingName is stored as ".L" + base64url(SHA-256(sealed))
// and the full sealed name in a sidecar file beside it (LongNameSidecar()).
// Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "volume/ids.h"
#include "volume/volume_keys.h"

namespace modelvault::volume {

inline constexpr size_t kMaxPlainName = 255;
inline constexpr size_t kMaxBackingName = 255;
inline constexpr char kDirIdFile[] = ".mvdir";

struct EncodedName {
  std::string backing;  // the directory entry in the backing dir
  std::string sealed;   // the full sealed name; differs from `backing` only for long names
  bool is_long() const { return backing != sealed; }
};

class NameCodec {
 public:
  explicit NameCodec(std::shared_ptr<const VolumeKeys> keys) : keys_(std::move(keys)) {}

  // InvalidArgument for "", ".", "..", names with '/' or longer than kMaxPlainName.
  Result<EncodedName> Encode(const DirId& dir, std::string_view plain) const;
  // Decodes a sealed name (for a long name: the sidecar's contents). Corruption if it does
  // not authenticate under `dir`.
  Result<std::string> Decode(const DirId& dir, std::string_view sealed) const;

  // Symlink targets: sealed like names but bound to a fixed label instead of a directory,
  // so that a link keeps its target when it is renamed.
  Result<std::string> EncodeLinkTarget(std::string_view plain) const;
  Result<std::string> DecodeLinkTarget(std::string_view sealed) const;

  // What kind of backing entry a directory listing found.
  enum class EntryKind { kRegular, kLong, kInternal };
  static EntryKind Classify(std::string_view backing_name);
  static std::string LongNameSidecar(std::string_view long_backing_name);

 private:
  std::shared_ptr<const VolumeKeys> keys_;
};

}  // namespace modelvault::volume
