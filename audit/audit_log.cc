#include "audit/audit_log.h"

#include <syslog.h>

#include <cmath>
#include <mutex>
#include <optional>
#include <utility>

#include "audit/denial_limiter.h"
#include "audit/log_file.h"
#include "audit/record.h"
#include "base/log.h"
#include "crypto/base64.h"
#include "crypto/ed25519.h"
#include "crypto/hex.h"

namespace modelvault::audit {
namespace {

using nlohmann::json;

class FileAuditLog final : public AuditLog {
 public:
  FileAuditLog(LogFile file, std::string volume_hex, const AuditOptions& options)
      : file_(std::move(file)),
        volume_hex_(std::move(volume_hex)),
        syslog_(options.syslog),
        limiter_(options.denied_per_second, options.denied_burst) {}

  ~FileAuditLog() override {
    Status st = Flush();
    if (!st.ok()) LogError("audit: " + st.message());
  }

  Status SetSigningSeed(const SecretBytes& seed) override {
    MV_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key, crypto::Ed25519PrivateKey::FromSeed(seed));
    std::lock_guard lock(mu_);
    signer_.emplace(std::move(key));
    return Status::Ok();
  }

  Status Record(std::string_view event, json fields) override {
    MV_RETURN_IF_ERROR(CheckCallerFields(fields));
    std::lock_guard lock(mu_);
    return AppendLocked(event, std::move(fields));
  }

  Status RecordDenied(json fields) override {
    MV_RETURN_IF_ERROR(CheckCallerFields(fields));
    std::lock_guard lock(mu_);
    if (!limiter_.Admit(DenialLimiter::Clock::now(), std::chrono::system_clock::now())) {
      return Status::Ok();
    }
    // The summary goes first, so the log reads in time order.
    MV_RETURN_IF_ERROR(WriteSuppressedLocked());
    return AppendLocked(kEventDenied, std::move(fields));
  }

  Status Flush() override {
    std::lock_guard lock(mu_);
    return WriteSuppressedLocked();
  }

 private:
  Status WriteSuppressedLocked() {
    DenialLimiter::Suppressed s = limiter_.TakeSuppressed();
    if (s.count == 0) return Status::Ok();
    json fields = {
        {"count", s.count}, {"first", FormatTime(s.first)}, {"last", FormatTime(s.last)}};
    return AppendLocked(kEventDeniedSuppressed, std::move(fields));
  }

  Result<std::string> MakeLine(const ChainTail& tail, std::string_view event, json record) {
    record[kFieldSeq] = tail.last_seq + 1;
    record[kFieldTime] = FormatTime(std::chrono::system_clock::now());
    record[kFieldVolume] = volume_hex_;
    record[kFieldEvent] = std::string(event);
    record[kFieldPrev] = tail.prev_hash;
    std::string body = CanonicalJson(record);
    if (body.size() + 128 > kMaxRecordSize) {  // 128: room for the signature field
      return Status::InvalidArgument("audit record of " + std::string(event) + " is " +
                                     std::to_string(body.size()) + " bytes, more than " +
                                     std::to_string(kMaxRecordSize));
    }
    if (!signer_) return body;
    MV_ASSIGN_OR_RETURN(
        std::vector<uint8_t> sig,
        signer_->Sign(std::span(reinterpret_cast<const uint8_t*>(body.data()), body.size())));
    // Re-read the signed text rather than reuse `record`, so the line holds exactly what was
    // signed (CanonicalJson replaced any invalid UTF-8).
    json signed_record = json::parse(body);
    signed_record[kFieldSig] = crypto::Base64Encode(sig);
    return CanonicalJson(signed_record);
  }

  // Appends one record; mu_ is held.
  Status AppendLocked(std::string_view event, json fields) {
    std::string line;
    Status st = file_.Append([&](const ChainTail& tail) -> Result<std::string> {
      MV_ASSIGN_OR_RETURN(line, MakeLine(tail, event, std::move(fields)));
      return line;
    });
    // The syslog copy is sent even if the file write failed: it is the copy that survives.
    if (syslog_ && !line.empty()) {
      // syslog(3) without openlog(): base/log owns the identity; the facility is given here.
      ::syslog(LOG_AUTHPRIV | LOG_NOTICE, "modelvault audit: %s", line.c_str());
    }
    return st;
  }

  // Lock order: mu_, then the file's flock (taken inside LogFile::Append).
  std::mutex mu_;
  LogFile file_;  // guarded by mu_
  const std::string volume_hex_;
  const bool syslog_;
  std::optional<crypto::Ed25519PrivateKey> signer_;  // guarded by mu_
  DenialLimiter limiter_;                            // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const AuditOptions& options,
                                                 std::string volume_hex) {
  if (options.path.empty()) return Status::InvalidArgument("no audit log path given");
  if (!std::isfinite(options.denied_per_second) || options.denied_per_second < 0) {
    return Status::InvalidArgument("audit denied_per_second must be a number >= 0");
  }
  if (options.denied_burst < 1) {
    return Status::InvalidArgument("audit denied_burst must be at least 1");
  }
  if (volume_hex.empty() || !crypto::HexDecode(volume_hex).ok()) {
    return Status::InvalidArgument("the audit log's volume ID must be lowercase hex, not \"" +
                                   volume_hex + "\"");
  }
  MV_ASSIGN_OR_RETURN(LogFile file, LogFile::Open(options.path));
  return std::unique_ptr<AuditLog>(
      std::make_unique<FileAuditLog>(std::move(file), std::move(volume_hex), options));
}

}  // namespace modelvault::audit
