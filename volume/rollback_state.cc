#include "volume/rollback_state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "base/unique_fd.h"
#include "crypto/hex.h"

namespace modelvault::volume {
namespace {

using nlohmann::json;

constexpr size_t kMaxStateSize = 16 << 20;

Status MakeParentDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return Status::FromErrno(ec.value(), "creating the directory of " + path);
  return Status::Ok();
}

Result<json> ReadState(const std::string& path) {
  auto bytes = ReadFileBytes(path, kMaxStateSize);
  if (!bytes.ok()) {
    if (bytes.status().ToErrno() == ENOENT) return json::object();
    return bytes.status();
  }
  if (bytes->empty()) return json::object();
  json state = json::parse(bytes->begin(), bytes->end(), nullptr, /*allow_exceptions=*/false);
  if (!state.is_object()) {
    return Status::Corruption(path + ": not a rollback state file (a JSON object of versions)");
  }
  return state;
}

}  // namespace

std::string DefaultRollbackStatePath() {
  if (const char* env = std::getenv("MODELVAULT_STATE_FILE"); env != nullptr && *env != '\0') {
    return env;
  }
  if (geteuid() == 0) return "/var/lib/modelvault/state.json";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg == '/') {
    return std::string(xdg) + "/modelvault/state.json";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/tmp") + "/.local/state/modelvault/state.json";
}

Status CheckAndRecordVersion(const std::string& path, const std::string& key, uint64_t version,
                             const std::string& what) {
  MV_RETURN_IF_ERROR(MakeParentDirs(path));
  const std::string lock_path = path + ".lock";
  UniqueFd lock(open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid()) return Status::FromErrno(errno, lock_path);
  if (flock(lock.get(), LOCK_EX) != 0) return Status::FromErrno(errno, lock_path);
  MV_ASSIGN_OR_RETURN(json state, ReadState(path));
  auto it = state.find(key);
  if (it != state.end() && it->is_number_unsigned()) {
    uint64_t seen = it->get<uint64_t>();
    if (version < seen) {
      return Status::Corruption(what + " is version " + std::to_string(version) +
                                ", older than version " + std::to_string(seen) +
                                " this host has already seen (an old copy put back?); state in " +
                                path);
    }
    if (version == seen) return Status::Ok();
  }
  state[key] = version;
  std::string text = state.dump(2) + "\n";
  return WriteFileAtomically(path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()},
                             0600);
}

std::string ManifestStateKey(const VolumeId& volume, const DirId& dir) {
  return "manifest:" + crypto::HexEncode(volume.span()) + ":" + crypto::HexEncode(dir.span());
}

Result<uint64_t> SeenVersion(const std::string& path, const std::string& key) {
  MV_ASSIGN_OR_RETURN(json state, ReadState(path));
  auto it = state.find(key);
  if (it == state.end() || !it->is_number_unsigned()) return uint64_t{0};
  return it->get<uint64_t>();
}

}  // namespace modelvault::volume
