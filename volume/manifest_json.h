// Internal to volume/: the strict JSON reading behind Manifest::Parse (manifest.h) and the
// rules for entry paths that HashSignedTree shares with it. Every error is Corruption naming
// the manifest file and the field. Thread-safe free functions.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "volume/content_layout.h"
#include "volume/manifest.h"

namespace modelvault::volume::internal {

// Parses `text`, refusing an object that names a key twice: parsers differ on which copy
// wins, and a signed document must read the same everywhere.
Result<nlohmann::json> ParseStrictJson(std::string_view text, const std::string& path);

// Typed access to one JSON object's fields; errors read "PATH: PREFIXwhat".
class FieldReader {
 public:
  FieldReader(const nlohmann::json& object, std::string path, std::string prefix = "")
      : object_(object), path_(std::move(path)), prefix_(std::move(prefix)) {}

  Status Error(const std::string& what) const;
  Status OnlyFields(std::initializer_list<std::string_view> allowed) const;
  bool Has(const char* name) const { return object_.contains(name); }
  Result<const nlohmann::json*> Get(const char* name) const;
  Result<std::string> String(const char* name) const;
  Result<uint64_t> Unsigned(const char* name) const;
  Result<std::vector<uint8_t>> Base64(const char* name) const;
  Result<std::vector<uint8_t>> Hex(const char* name, size_t size) const;
  template <size_t N>
  Result<std::array<uint8_t, N>> Bytes(const char* name) const {
    MV_ASSIGN_OR_RETURN(std::vector<uint8_t> raw, Hex(name, N));
    std::array<uint8_t, N> out{};
    std::copy(raw.begin(), raw.end(), out.begin());
    return out;
  }

 private:
  const nlohmann::json& object_;
  std::string path_;
  std::string prefix_;
};

// "file", "dir", "symlink", "other".
const char* KindName(ManifestEntry::Kind kind);

// A backing name that a manifest can carry: printable ASCII (0x20..0x7e) without '/', not
// "" or "." or "..". Backing names of a store are base64url or modelvault's own dotted
// names, so anything else is foreign, and refusing it keeps the signed JSON unambiguous.
bool IsValidEntryName(std::string_view name);
// A relative '/'-separated path of valid names, not reserved at the top of a signed dir.
bool IsValidEntryPath(std::string_view path);

// "YYYY-MM-DDTHH:MM:SS[.fraction]Z".
bool IsRfc3339Utc(std::string_view text);

// The number of ciphertext blocks of a backing file of `size` bytes, or -1 if no valid
// content file has that size (a cut header or a tail too short to be a block).
int64_t BlockCount(const ContentLayout& layout, uint64_t size);

// Entry `index` of the manifest at `path`, checked against its kind's rules.
Result<ManifestEntry> ParseEntry(const nlohmann::json& j, const std::string& path, size_t index,
                                 const ContentLayout& layout);

}  // namespace modelvault::volume::internal
