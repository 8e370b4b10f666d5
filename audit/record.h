// The audit record format (docs/FORMAT.md, "Audit log"), shared by the writer (AuditLog) and
// the reader (VerifyAuditLog) so both agree on every byte: one JSON object per line with
// `seq`, `time`, `volume`, `event`, the caller's fields, `prev` (hex SHA-256 of the previous
// record's line) and, once the signing key is known, `sig` (base64 Ed25519 over SignedBody).
//
// A "line" is the bytes between two newlines (or the start or end of the file); a line is a
// record when it is a JSON object with a positive integer `seq`. Lines that are not records
// (a write torn by a crash, foreign text) are outside the chain: the next record's `prev`
// names the last record before them. Thread-safe free functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace modelvault::audit {

inline constexpr char kFieldSeq[] = "seq";
inline constexpr char kFieldTime[] = "time";
inline constexpr char kFieldVolume[] = "volume";
inline constexpr char kFieldEvent[] = "event";
inline constexpr char kFieldPrev[] = "prev";
inline constexpr char kFieldSig[] = "sig";
// `prev` of the first record: 64 zeros.
inline constexpr std::string_view kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";
// A record line longer than this is refused when written and reported when read.
inline constexpr size_t kMaxRecordSize = 64 * 1024;

// The event that summarizes denials the rate limit kept out of the log.
inline constexpr char kEventDenied[] = "access_denied";
inline constexpr char kEventDeniedSuppressed[] = "access_denied_suppressed";

// True for the field names the log sets itself.
bool IsReservedField(std::string_view name);
// InvalidArgument unless `fields` is a JSON object none of whose names is reserved.
Status CheckCallerFields(const nlohmann::json& fields);

// RFC 3339 in UTC with milliseconds: "2024-05-01T12:34:56.789Z".
std::string FormatTime(std::chrono::system_clock::time_point t);
// Lowercase hex SHA-256 of one line (without its newline): the next record's `prev`.
std::string LineHash(std::string_view line);

// The JSON text of `record` as it is written and signed: compact, keys sorted, invalid
// UTF-8 replaced by U+FFFD. Parsing this text and printing it again gives the same bytes,
// which is what lets a reader recompute what was signed.
std::string CanonicalJson(const nlohmann::json& record);
// The bytes the signature covers: CanonicalJson of `record` without "sig".
std::string SignedBody(nlohmann::json record);

// The JSON object on `line`, or nullopt if it is not JSON or not an object.
std::optional<nlohmann::json> ParseObject(std::string_view line);
// The `seq` of `line` if it is a record (see above).
std::optional<uint64_t> RecordSeq(std::string_view line);
std::optional<uint64_t> RecordSeq(const nlohmann::json& object);

}  // namespace modelvault::audit
