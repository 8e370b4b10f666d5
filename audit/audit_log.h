// AuditLog: the store's tamper-evident event log (docs/FORMAT.md, "Audit log"). Each event
// becomes one JSON line in an append-only file, chained to the previous line by its SHA-256
// and, once the signing seed is known, signed with the store's Ed25519 audit key, so an
// edited, deleted, inserted or reordered record is found by VerifyAuditLog (verify.h).
//
// Records written before SetSigningSeed (a failed unlock: nobody can sign without the master
// key) are chained but unsigned; the next signed record covers them through its `prev`.
//
// Every record is fsynced before Record() returns; a failure to write is returned as a
// Status naming the file, and the caller decides whether the operation it audits must fail.
// Denied accesses go through RecordDenied, which a token bucket limits (AuditOptions); the
// denials it holds back are summarized by one `access_denied_suppressed` record when the
// next denial is let through, on Flush(), and when the log is destroyed.
//
// Several processes may append to one file (each opens its own AuditLog; see log_file.h for
// why a forked child must not reuse its parent's). All methods are thread-safe.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace modelvault::audit {

struct AuditOptions {
  std::string path;  // the log file; created with mode 0600 if missing
  // Also send each record to syslog (facility LOG_AUTHPRIV, so journald keeps a copy out of
  // reach of whoever can edit the file).
  bool syslog = false;
  double denied_per_second = 5;  // refill rate of the denial bucket, >= 0
  int denied_burst = 20;         // denials written back to back before limiting, >= 1
};

class AuditLog {
 public:
  // Opens (or creates) the log of the volume whose ID is `volume_hex` (lowercase hex, as in
  // `modelvault info`). InvalidArgument for bad options; IOError naming the file.
  static Result<std::unique_ptr<AuditLog>> Open(const AuditOptions& options,
                                                std::string volume_hex);

  AuditLog() = default;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  // Writes a pending suppression summary (failures go to base/log).
  virtual ~AuditLog() = default;

  // Signs every later record with the Ed25519 key whose seed is `seed` (32 bytes,
  // volume::VolumeKeys::AuditSeed()); the log keeps its own copy.
  virtual Status SetSigningSeed(const SecretBytes& seed) = 0;

  // Appends one record of `event` with the caller's `fields` (a JSON object whose names must
  // not be seq, time, volume, event, prev or sig).
  virtual Status Record(std::string_view event,
                        nlohmann::json fields = nlohmann::json::object()) = 0;

  // An `access_denied` record with `fields`, unless the rate limit holds it back (then Ok).
  virtual Status RecordDenied(nlohmann::json fields) = 0;

  // Writes the summary of denials held back so far, if any.
  virtual Status Flush() = 0;
};

}  // namespace modelvault::audit
