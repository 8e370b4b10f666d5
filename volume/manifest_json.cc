#include "volume/manifest_json.h"

#include <algorithm>
#include <set>

#include "crypto/base64.h"
#include "crypto/hex.h"
#include "volume/json_error.h"
#include "volume/volume_header.h"

namespace modelvault::volume::internal {
namespace {

using nlohmann::json;

// The manifest nests three levels deep; anything deeper is not one, and a bound keeps a
// hostile file from costing deep recursion.
constexpr int kMaxDepth = 8;

bool IsDigits(std::string_view s, size_t from, size_t count) {
  if (from + count > s.size()) return false;
  for (size_t i = from; i < from + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

Result<ManifestEntry::Kind> KindOf(const FieldReader& r, const std::string& name) {
  if (name == "file") return ManifestEntry::Kind::kFile;
  if (name == "dir") return ManifestEntry::Kind::kDir;
  if (name == "symlink") return ManifestEntry::Kind::kSymlink;
  if (name == "other") return ManifestEntry::Kind::kOther;
  return r.Error("unknown kind \"" + name + "\"");
}

// A file's size must be one a content file can have, with the matching block count.
Status CheckFileShape(const FieldReader& r, const ManifestEntry& e, const ContentLayout& layout) {
  int64_t blocks = BlockCount(layout, e.size);
  if (blocks < 0) return r.Error("size is not a valid content file size");
  if (static_cast<uint64_t>(blocks) != e.blocks) return r.Error("blocks does not match size");
  if (e.size == 0 && e.file_id != FileId{}) {
    return r.Error("a file of 0 bytes has no header and no file_id");
  }
  return Status::Ok();
}

}  // namespace

Result<json> ParseStrictJson(std::string_view text, const std::string& path) {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  bool too_deep = false;
  json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxDepth) too_deep = true;
    if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    if (event == json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == json::parse_event_t::key && !open_objects.empty() &&
        !open_objects.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text, check);
  } catch (const json::parse_error& e) {
    return internal::JsonSyntaxError(e, path);
  }
  if (too_deep) return Status::Corruption(path + ": nested too deeply");
  if (!duplicate.empty()) {
    return Status::Corruption(path + ": field \"" + duplicate + "\" appears twice in an object");
  }
  return j;
}

Status FieldReader::Error(const std::string& what) const {
  return Status::Corruption(path_ + ": " + prefix_ + what);
}

Status FieldReader::OnlyFields(std::initializer_list<std::string_view> allowed) const {
  for (const auto& [key, value] : object_.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Error("unknown field \"" + key + "\"");
    }
  }
  return Status::Ok();
}

Result<const json*> FieldReader::Get(const char* name) const {
  auto it = object_.find(name);
  if (it == object_.end()) return Error("missing field \"" + std::string(name) + "\"");
  return &*it;
}

Result<std::string> FieldReader::String(const char* name) const {
  MV_ASSIGN_OR_RETURN(const json* value, Get(name));
  if (!value->is_string()) return Error("\"" + std::string(name) + "\" must be a string");
  return value->get<std::string>();
}

Result<uint64_t> FieldReader::Unsigned(const char* name) const {
  MV_ASSIGN_OR_RETURN(const json* value, Get(name));
  if (!value->is_number_unsigned()) {
    return Error("\"" + std::string(name) + "\" must be a non-negative integer");
  }
  return value->get<uint64_t>();
}

Result<std::vector<uint8_t>> FieldReader::Base64(const char* name) const {
  MV_ASSIGN_OR_RETURN(std::string text, String(name));
  Result<std::vector<uint8_t>> bytes = crypto::Base64Decode(text);
  if (!bytes.ok()) return Error("\"" + std::string(name) + "\" is not base64");
  return bytes;
}

Result<std::vector<uint8_t>> FieldReader::Hex(const char* name, size_t size) const {
  MV_ASSIGN_OR_RETURN(std::string text, String(name));
  Result<std::vector<uint8_t>> bytes = crypto::HexDecode(text);
  if (!bytes.ok() || bytes->size() != size) {
    return Error("\"" + std::string(name) + "\" must be " + std::to_string(2 * size) +
                 " lowercase hex digits");
  }
  return bytes;
}

const char* KindName(ManifestEntry::Kind kind) {
  switch (kind) {
    case ManifestEntry::Kind::kFile:
      return "file";
    case ManifestEntry::Kind::kDir:
      return "dir";
    case ManifestEntry::Kind::kSymlink:
      return "symlink";
    case ManifestEntry::Kind::kOther:
      return "other";
  }
  return "other";
}

bool IsValidEntryName(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (char c : name) {
    if (c < 0x20 || c > 0x7e || c == '/') return false;
  }
  return true;
}

bool IsValidEntryPath(std::string_view path) {
  size_t slash = path.find('/');
  if (volume::IsSignedDirInternal(path.substr(0, slash))) return false;
  while (true) {
    slash = path.find('/');
    if (!IsValidEntryName(path.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

bool IsRfc3339Utc(std::string_view t) {
  // 2026-11-26T00:30:00Z or 2026-11-26T00:30:00.123Z
  if (t.size() < 20 || !IsDigits(t, 0, 4) || t[4] != '-' || !IsDigits(t, 5, 2) || t[7] != '-' ||
      !IsDigits(t, 8, 2) || t[10] != 'T' || !IsDigits(t, 11, 2) || t[13] != ':' ||
      !IsDigits(t, 14, 2) || t[16] != ':' || !IsDigits(t, 17, 2) || t.back() != 'Z') {
    return false;
  }
  if (t.size() == 20) return true;
  return t[19] == '.' && t.size() > 21 && IsDigits(t, 20, t.size() - 21);
}

int64_t BlockCount(const ContentLayout& layout, uint64_t size) {
  if (size == 0 || size == kFileHeaderSize) return 0;
  if (size < kFileHeaderSize || !layout.TailIsValid(size)) return -1;
  uint64_t body = size - kFileHeaderSize;
  uint64_t stored = layout.stored_block_size();
  return static_cast<int64_t>(body / stored + (body % stored != 0 ? 1 : 0));
}

Result<ManifestEntry> ParseEntry(const json& j, const std::string& path, size_t index,
                                 const ContentLayout& layout) {
  std::string prefix = "entries[" + std::to_string(index) + "]: ";
  if (!j.is_object()) return Status::Corruption(path + ": " + prefix + "must be an object");
  ManifestEntry e;
  FieldReader plain(j, path, prefix);
  MV_ASSIGN_OR_RETURN(e.path, plain.String("path"));
  // Checked before the path is quoted in any message, so no control character is printed.
  if (!IsValidEntryPath(e.path))
    return plain.Error("\"path\" is not a valid relative backing path");
  FieldReader r(j, path, prefix + "\"" + e.path + "\": ");
  MV_ASSIGN_OR_RETURN(std::string kind, r.String("kind"));
  MV_ASSIGN_OR_RETURN(e.kind, KindOf(r, kind));
  MV_ASSIGN_OR_RETURN(e.size, r.Unsigned("size"));
  MV_ASSIGN_OR_RETURN(e.digest, r.Bytes<32>("digest"));
  if (e.kind != ManifestEntry::Kind::kFile) {
    MV_RETURN_IF_ERROR(r.OnlyFields({"digest", "kind", "path", "size"}));
    if (e.kind == ManifestEntry::Kind::kDir && (e.size != 0 || e.digest != crypto::Digest{})) {
      return r.Error("a dir must have size 0 and an all-zero digest");
    }
    return e;
  }
  MV_RETURN_IF_ERROR(r.OnlyFields({"blocks", "digest", "file_id", "kind", "path", "size"}));
  MV_ASSIGN_OR_RETURN(e.file_id.bytes, r.Bytes<16>("file_id"));
  MV_ASSIGN_OR_RETURN(e.blocks, r.Unsigned("blocks"));
  MV_RETURN_IF_ERROR(CheckFileShape(r, e, layout));
  return e;
}

}  // namespace modelvault::volume::internal
