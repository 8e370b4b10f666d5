#include "audit/record.h"

#include <time.h>

#include <array>
#include <cstdio>

#include "crypto/hash.h"
#include "crypto/hex.h"

namespace modelvault::audit {

using nlohmann::json;

bool IsReservedField(std::string_view name) {
  for (std::string_view reserved :
       {kFieldSeq, kFieldTime, kFieldVolume, kFieldEvent, kFieldPrev, kFieldSig}) {
    if (name == reserved) return true;
  }
  return false;
}

Status CheckCallerFields(const json& fields) {
  if (!fields.is_object()) {
    return Status::InvalidArgument("audit record fields must be a JSON object");
  }
  for (const auto& [name, value] : fields.items()) {
    if (IsReservedField(name)) {
      return Status::InvalidArgument("audit record field \"" + name +
                                     "\" is reserved for the log itself");
    }
  }
  return Status::Ok();
}

std::string FormatTime(std::chrono::system_clock::time_point t) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  int64_t ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  // Floor division, so that times before 1970 would still print a valid millisecond field.
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  time_t tt = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  std::array<char, 96> buf{};  // room for any int the format can print
  std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms - secs * 1000));
  return buf.data();
}

std::string LineHash(std::string_view line) {
  crypto::Digest d =
      crypto::Sha256(std::span(reinterpret_cast<const uint8_t*>(line.data()), line.size()));
  return crypto::HexEncode(d);
}

std::string CanonicalJson(const json& record) {
  // nlohmann keeps object members in a std::map, so dump() sorts keys. Replacing invalid
  // UTF-8 (a file name from the kernel is bytes, not text) keeps a record writable; printing
  // the parsed result again makes the text a fixed point of parse-then-print.
  std::string once = record.dump(-1, ' ', false, json::error_handler_t::replace);
  json parsed = json::parse(once, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return once;  // cannot happen: dump() emits valid JSON
  return parsed.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string SignedBody(json record) {
  if (record.is_object()) record.erase(kFieldSig);
  return CanonicalJson(record);
}

std::optional<json> ParseObject(std::string_view line) {
  json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::optional<uint64_t> RecordSeq(const json& object) {
  auto it = object.find(kFieldSeq);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned()) {
    uint64_t seq = it->get<uint64_t>();
    if (seq == 0) return std::nullopt;
    return seq;
  }
  int64_t seq = it->get<int64_t>();
  if (seq <= 0) return std::nullopt;
  return static_cast<uint64_t>(seq);
}

std::optional<uint64_t> RecordSeq(std::string_view line) {
  std::optional<json> object = ParseObject(line);
  if (!object) return std::nullopt;
  return RecordSeq(*object);
}

}  // namespace modelvault::audit
