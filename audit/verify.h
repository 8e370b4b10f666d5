// VerifyAuditLog: checks an audit log (audit_log.h, docs/FORMAT.md "Audit log") with the
// store's audit public key alone. It reads the whole file once and reports every problem it
// finds with its line number, rather than stopping at the first: an edited record (its
// signature fails), a deleted, inserted or reordered one (seq and `prev` break), a line that
// is not a record (torn write, foreign text), a record of another store.
//
// What it cannot see: records cut off the end of the file (the chain has no end marker; a
// syslog copy or an external checkpoint of the last seq is needed), and records after the
// last signed one, which anyone who can write the file could have added or edited; those
// are reported as warnings. Thread-safe free function.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace modelvault::audit {

struct AuditFinding {
  uint64_t line = 0;  // 1-based line number in the file
  std::string what;   // "chain broken: prev does not match line 4", ...
};

struct VerifyReport {
  uint64_t lines = 0;              // lines read, records or not
  uint64_t records = 0;            // lines that are records (JSON objects with a seq)
  uint64_t signed_records = 0;     // records whose signature verifies
  uint64_t trailing_unsigned = 0;  // unsigned records after the last good signature
  std::string first_time;          // `time` of the first and last records, if any
  std::string last_time;
  // Problems make the log fail; warnings (records not yet covered by a signature) do not.
  // At most kMaxListed problems are kept; problem_count counts them all.
  std::vector<AuditFinding> problems;
  uint64_t problem_count = 0;
  std::vector<AuditFinding> warnings;

  static constexpr size_t kMaxListed = 1000;
  bool ok() const { return problem_count == 0; }
};

struct VerifyOptions {
  // The store's 32-byte Ed25519 audit public key (VolumeHeader::audit_key).
  std::vector<uint8_t> public_key;
  // If set, every record must name this volume (lowercase hex); if empty, every record must
  // name the volume of the first record.
  std::string volume_hex;
};

// The report on the log at `path`. The Result fails only when the file cannot be read
// (IOError or NotFound, naming it) or the key is not 32 bytes (InvalidArgument); anything
// wrong with the log itself is in the report.
Result<VerifyReport> VerifyAuditLog(const std::string& path, const VerifyOptions& options);

}  // namespace modelvault::audit
