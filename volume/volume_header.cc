#include "volume/volume_header.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <set>

#include "base/file_util.h"
#include "base/unique_fd.h"
#include "crypto/base64.h"
#include "crypto/hex.h"
#include "crypto/kdf.h"
#include "volume/dir_id.h"
#include "volume/json_error.h"
#include "volume/name_codec.h"

namespace modelvault::volume {
namespace {

using nlohmann::json;

constexpr char kFormatName[] = "modelvault";
constexpr char kContentCipher[] = "AES-256-GCM";
constexpr char kNameCipher[] = "AES-256-SIV";
// Far above any real header (a slot is a few hundred bytes); bounds what a hostile file costs.
constexpr size_t kMaxHeaderSize = 1 << 20;
constexpr std::array<std::string_view, 11> kFields = {
    "audit_key", "block_size", "cipher",      "created", "format",   "generation",
    "keyslots",  "mac",        "name_cipher", "version", "volume_id"};
constexpr size_t kAuditKeySize = 32;  // an Ed25519 public key

// Never throws: strings that are not UTF-8 are replaced, both when sealing and when
// verifying, so the MAC still covers exactly what is written.
std::string Dump(const json& value, int indent) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string HeaderPath(const std::string& backing_dir) { return backing_dir + "/" + kHeaderFile; }

// Typed access to the fields of one JSON object; every error names the file and the field.
class FieldReader {
 public:
  FieldReader(const json& object, std::string path, std::string prefix = "")
      : object_(object), path_(std::move(path)), prefix_(std::move(prefix)) {}

  Status Error(const std::string& what) const {
    return Status::Corruption(path_ + ": " + prefix_ + what);
  }
  Result<const json*> Get(const char* name) const {
    auto it = object_.find(name);
    if (it == object_.end()) return Error("missing field \"" + std::string(name) + "\"");
    return &*it;
  }
  Result<std::string> String(const char* name) const {
    MV_ASSIGN_OR_RETURN(const json* value, Get(name));
    if (!value->is_string()) return Error(Field(name) + " must be a string");
    return value->get<std::string>();
  }
  // An integer in [min, max].
  Result<int64_t> Integer(const char* name, int64_t min, int64_t max) const {
    MV_ASSIGN_OR_RETURN(const json* value, Get(name));
    if (!value->is_number_integer()) return Error(Field(name) + " must be an integer");
    if (value->is_number_unsigned() ? value->get<uint64_t>() > static_cast<uint64_t>(max)
                                    : value->get<int64_t>() < min || value->get<int64_t>() > max) {
      return Error(Field(name) + " is out of range");
    }
    return value->get<int64_t>();
  }
  static std::string Field(const char* name) { return "field \"" + std::string(name) + "\""; }

 private:
  const json& object_;
  std::string path_;
  std::string prefix_;
};

// A cipher name this build knows, or Unsupported naming it.
Result<std::string> ParseCipher(const FieldReader& reader, const char* name, const char* known,
                                const std::string& path) {
  MV_ASSIGN_OR_RETURN(std::string value, reader.String(name));
  if (value != known) {
    return Status::Unsupported(path + ": " + FieldReader::Field(name) + ": \"" + value +
                               "\" is not supported (this build knows \"" + known + "\")");
  }
  return value;
}

Result<VolumeId> ParseVolumeId(const FieldReader& reader) {
  MV_ASSIGN_OR_RETURN(std::string hex, reader.String("volume_id"));
  VolumeId id;
  auto bytes = crypto::HexDecode(hex);
  if (!bytes.ok() || bytes->size() != id.bytes.size()) {
    return reader.Error("field \"volume_id\" must be 32 lowercase hex digits");
  }
  std::copy(bytes->begin(), bytes->end(), id.bytes.begin());
  return id;
}

Result<std::vector<json>> ParseKeyslots(const FieldReader& reader, const std::string& path) {
  MV_ASSIGN_OR_RETURN(const json* slots, reader.Get("keyslots"));
  if (!slots->is_array()) return reader.Error("field \"keyslots\" must be an array");
  std::set<int64_t> ids;
  for (size_t i = 0; i < slots->size(); ++i) {
    const json& slot = (*slots)[i];
    FieldReader slot_reader(slot, path, "keyslots[" + std::to_string(i) + "]: ");
    if (!slot.is_object()) return slot_reader.Error("must be an object");
    MV_ASSIGN_OR_RETURN(int64_t id, slot_reader.Integer("id", 0, INT32_MAX));
    MV_RETURN_IF_ERROR(slot_reader.String("type").status());
    if (!ids.insert(id).second) return slot_reader.Error("duplicate slot id " + std::to_string(id));
  }
  return slots->get<std::vector<json>>();
}

// Parses everything after "format" and "version", which decide whether to read on at all.
Status ParseBody(const FieldReader& reader, const json& doc, const std::string& path,
                 VolumeHeader* header) {
  for (const auto& [key, value] : doc.items()) {
    // Every field must be covered by the MAC, so one this build would not write is refused.
    if (std::find(kFields.begin(), kFields.end(), key) == kFields.end()) {
      return reader.Error("unknown field \"" + key + "\"");
    }
  }
  MV_ASSIGN_OR_RETURN(header->volume_id, ParseVolumeId(reader));
  MV_ASSIGN_OR_RETURN(header->cipher, ParseCipher(reader, "cipher", kContentCipher, path));
  MV_ASSIGN_OR_RETURN(header->name_cipher, ParseCipher(reader, "name_cipher", kNameCipher, path));
  MV_ASSIGN_OR_RETURN(int64_t block_size, reader.Integer("block_size", 0, INT64_MAX));
  if (!IsValidBlockSize(static_cast<uint64_t>(block_size))) {
    return reader.Error("field \"block_size\": " + std::to_string(block_size) +
                        " is not a power of two from " + std::to_string(kMinBlockSize) + " to " +
                        std::to_string(kMaxBlockSize));
  }
  header->block_size = static_cast<uint32_t>(block_size);
  MV_ASSIGN_OR_RETURN(header->created, reader.String("created"));
  MV_ASSIGN_OR_RETURN(header->keyslots, ParseKeyslots(reader, path));
  // Headers written before these fields existed have neither; both then read as absent.
  if (doc.contains("generation")) {
    MV_ASSIGN_OR_RETURN(int64_t generation, reader.Integer("generation", 0, INT64_MAX));
    header->generation = static_cast<uint64_t>(generation);
  }
  if (doc.contains("audit_key")) {
    MV_ASSIGN_OR_RETURN(std::string key, reader.String("audit_key"));
    auto bytes = crypto::Base64Decode(key);
    if (!bytes.ok() || bytes->size() != kAuditKeySize) {
      return reader.Error("field \"audit_key\" must be base64 of 32 bytes");
    }
    header->audit_key = std::move(bytes).value();
  }
  MV_ASSIGN_OR_RETURN(header->mac, reader.String("mac"));
  return Status::Ok();
}

}  // namespace

Result<VolumeHeader> VolumeHeader::Parse(std::string_view text, const std::string& path) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    return internal::JsonSyntaxError(e, path);
  }
  if (!doc.is_object()) return Status::Corruption(path + ": not a JSON object");
  FieldReader reader(doc, path);
  MV_ASSIGN_OR_RETURN(std::string format, reader.String("format"));
  if (format != kFormatName) {
    return reader.Error("field \"format\" is \"" + format + "\", not \"modelvault\"");
  }
  MV_ASSIGN_OR_RETURN(int64_t version, reader.Integer("version", INT32_MIN, INT32_MAX));
  if (version != kFormatVersion) {
    return Status::Unsupported(path + ": format version " + std::to_string(version) +
                               " is not supported (this build reads version " +
                               std::to_string(kFormatVersion) + ")");
  }
  VolumeHeader header;
  header.version = kFormatVersion;
  MV_RETURN_IF_ERROR(ParseBody(reader, doc, path, &header));
  return header;
}

json VolumeHeader::ToJson() const {
  json doc{{"format", kFormatName},
           {"version", version},
           {"volume_id", crypto::HexEncode(volume_id.span())},
           {"cipher", cipher},
           {"name_cipher", name_cipher},
           {"block_size", block_size},
           {"created", created},
           {"keyslots", keyslots}};
  if (!audit_key.empty()) doc["audit_key"] = crypto::Base64Encode(audit_key);
  if (generation != 0) doc["generation"] = generation;
  return doc;
}

std::string VolumeHeader::CanonicalBody() const { return Dump(ToJson(), -1); }

std::string VolumeHeader::Serialize() const {
  json doc = ToJson();
  doc["mac"] = mac;
  return Dump(doc, 2) + "\n";
}

Status VolumeHeader::Seal(const VolumeKeys& keys) {
  std::string body = CanonicalBody();
  MV_ASSIGN_OR_RETURN(crypto::Digest digest, keys.HeaderMac(crypto::AsBytes(body)));
  mac = crypto::Base64Encode(digest);
  return Status::Ok();
}

Status VolumeHeader::Verify(const VolumeKeys& keys) const {
  std::string body = CanonicalBody();
  MV_ASSIGN_OR_RETURN(crypto::Digest digest, keys.HeaderMac(crypto::AsBytes(body)));
  auto stored = crypto::Base64Decode(mac);
  if (!stored.ok() || !ConstantTimeEquals(*stored, digest)) {
    return Status::Corruption(
        "header authentication failed (the file was modified, or belongs to another store)");
  }
  return Status::Ok();
}

int VolumeHeader::NextSlotId() const {
  std::set<int> used;
  for (const json& slot : keyslots) {
    auto it = slot.find("id");
    if (it != slot.end() && it->is_number_integer()) used.insert(it->get<int>());
  }
  int id = 0;
  while (used.count(id)) ++id;
  return id;
}

Result<VolumeHeader> ReadVolumeHeader(const std::string& backing_dir) {
  struct stat st;
  if (stat(backing_dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::NotFound(backing_dir + ": no such directory");
    return Status::FromErrno(errno, backing_dir);
  }
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(backing_dir + " is not a directory");
  std::string path = HeaderPath(backing_dir);
  auto bytes = ReadFileBytes(path, kMaxHeaderSize);
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kIOError && bytes.status().ToErrno() == ENOENT) {
      return Status::NotFound(backing_dir + " is not a modelvault store (no " + kHeaderFile + ")");
    }
    return bytes.status();
  }
  std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  return VolumeHeader::Parse(text, path);
}

Status WriteVolumeHeader(const std::string& backing_dir, const VolumeHeader& header) {
  std::string text = header.Serialize();
  // Not secret, but passphrase slots are material for offline guessing: owner only.
  return WriteFileAtomically(HeaderPath(backing_dir), crypto::AsBytes(text), 0600);
}

namespace {

// Undoes what InitializeStore did so far unless Commit() was called, so that a failed
// init leaves the directory exactly as it was found.
class InitRollback {
 public:
  explicit InitRollback(std::string dir) : dir_(std::move(dir)) {}
  InitRollback(const InitRollback&) = delete;
  InitRollback& operator=(const InitRollback&) = delete;
  ~InitRollback() {
    if (committed_) return;
    for (auto it = files_.rbegin(); it != files_.rend(); ++it) unlink((dir_ + "/" + *it).c_str());
    if (created_dir_) rmdir(dir_.c_str());
  }
  void CreatedDir() { created_dir_ = true; }
  // Called before a file is created: a step that fails half-way may leave it behind.
  void WillCreate(std::string name) { files_.push_back(std::move(name)); }
  void Commit() { committed_ = true; }

 private:
  std::string dir_;
  std::vector<std::string> files_;
  bool created_dir_ = false;
  bool committed_ = false;
};

// Creates `dir`, or checks that the existing `dir` is an empty directory.
Status PrepareEmptyDir(const std::string& dir, InitRollback* rollback) {
  if (mkdir(dir.c_str(), 0700) == 0) {
    rollback->CreatedDir();
    return Status::Ok();
  }
  if (errno != EEXIST) return Status::FromErrno(errno, "creating " + dir);
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return Status::FromErrno(errno, dir);
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(dir + " is not a directory");
  std::error_code ec;
  std::filesystem::directory_iterator entries(dir, ec);
  if (ec) return Status::FromErrno(ec.value(), "listing " + dir);
  if (entries != std::filesystem::directory_iterator()) {
    return Status::InvalidArgument(dir + " is not empty");
  }
  return Status::Ok();
}

}  // namespace

Status InitializeStore(const std::string& backing_dir, VolumeHeader header,
                       const VolumeKeys& keys) {
  if (!IsValidBlockSize(header.block_size)) {
    return Status::InvalidArgument("block size " + std::to_string(header.block_size) +
                                   " is not a power of two from " + std::to_string(kMinBlockSize) +
                                   " to " + std::to_string(kMaxBlockSize));
  }
  // Sealing needs nothing from the disk, so it cannot leave anything to undo.
  MV_RETURN_IF_ERROR(header.Seal(keys));
  InitRollback rollback(backing_dir);
  MV_RETURN_IF_ERROR(PrepareEmptyDir(backing_dir, &rollback));
  UniqueFd dirfd(open(backing_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd.valid()) return Status::FromErrno(errno, "opening " + backing_dir);
  MV_ASSIGN_OR_RETURN(DirId root_id, NewDirId());
  rollback.WillCreate(kDirIdFile);
  MV_RETURN_IF_ERROR(WriteDirId(dirfd.get(), root_id, backing_dir));
  rollback.WillCreate(kLockFile);
  MV_RETURN_IF_ERROR(WriteNewFile(backing_dir + "/" + kLockFile, {}, 0600));
  // The header goes last: a directory with modelvault.json is a store, so it must not
  // appear before the rest is in place.
  rollback.WillCreate(kHeaderFile);
  MV_RETURN_IF_ERROR(WriteVolumeHeader(backing_dir, header));
  rollback.Commit();
  return Status::Ok();
}

}  // namespace modelvault::volume
