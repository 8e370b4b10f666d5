#include "audit/verify.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "audit/record.h"
#include "base/unique_fd.h"
#include "crypto/base64.h"
#include "crypto/ed25519.h"

namespace modelvault::audit {
namespace {

using nlohmann::json;

// Reads a file line by line in fixed-size chunks, so a log of any length, or a "line" of
// gigabytes without a newline, takes bounded memory: lines are cut at kMaxLine bytes.
class LineReader {
 public:
  static constexpr size_t kMaxLine = kMaxRecordSize + 1;

  LineReader(int fd, const std::string& path) : fd_(fd), path_(path) {}

  struct Line {
    std::string text;
    bool overlong = false;    // longer than kMaxLine; `text` holds the start
    bool terminated = false;  // ended by '\n' (false only for the last line)
  };

  // The next line, or nullopt at end of file.
  Result<std::optional<Line>> Next() {
    Line line;
    bool started = false;
    while (true) {
      size_t nl = buf_.find('\n', pos_);
      size_t end = nl == std::string::npos ? buf_.size() : nl;
      started |= end > pos_;
      Take(line, std::string_view(buf_).substr(pos_, end - pos_));
      if (nl != std::string::npos) {
        pos_ = nl + 1;
        line.terminated = true;
        return std::optional<Line>(std::move(line));
      }
      buf_.clear();
      pos_ = 0;
      if (eof_) {
        if (!started) return std::optional<Line>();
        return std::optional<Line>(std::move(line));
      }
      MV_RETURN_IF_ERROR(Fill());
    }
  }

 private:
  static void Take(Line& line, std::string_view piece) {
    size_t room = kMaxLine - line.text.size();
    if (piece.size() > room) line.overlong = true;
    line.text.append(piece.substr(0, std::min(room, piece.size())));
  }

  Status Fill() {
    buf_.resize(64 * 1024);
    while (true) {
      ssize_t n = ::read(fd_, buf_.data(), buf_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno(errno, "reading audit log " + path_);
      buf_.resize(static_cast<size_t>(n));
      eof_ = n == 0;
      return Status::Ok();
    }
  }

  int fd_;
  const std::string& path_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
};

// The checks of one pass over the file; Check() is called once per line, in order.
class Verifier {
 public:
  explicit Verifier(const VerifyOptions& options)
      : options_(options), volume_(options.volume_hex) {}

  void Check(uint64_t n, const LineReader::Line& line) {
    ++report_.lines;
    if (line.overlong) {
      return Problem(
          n, "line longer than " + std::to_string(kMaxRecordSize) + " bytes: not an audit record");
    }
    if (line.text.empty()) return Problem(n, "empty line: not an audit record");
    std::optional<json> record = ParseObject(line.text);
    if (!record) {
      return Problem(n, line.terminated
                            ? "not JSON: not an audit record (a torn write or foreign text)"
                            : "incomplete last line (a write cut short, or the file truncated)");
    }
    std::optional<uint64_t> seq = RecordSeq(*record);
    if (!seq) return Problem(n, "not an audit record: no positive integer \"seq\"");
    CheckRecord(n, *seq, *record);
    last_seq_ = *seq;
    last_line_ = n;
    prev_hash_ = LineHash(line.text);
  }

  VerifyReport Finish() {
    if (report_.trailing_unsigned > 0) {
      report_.warnings.push_back({first_uncovered_, std::to_string(report_.trailing_unsigned) +
                                                        " unsigned record(s) from here to line " +
                                                        std::to_string(last_line_) +
                                                        " not yet covered by a signature"});
    }
    return std::move(report_);
  }

 private:
  void Problem(uint64_t n, std::string what) {
    ++report_.problem_count;
    if (report_.problems.size() < VerifyReport::kMaxListed) {
      report_.problems.push_back({n, std::move(what)});
    }
  }

  // The string field `name`, or nullopt after reporting it malformed.
  std::optional<std::string> StringField(uint64_t n, const json& record, const char* name) {
    auto it = record.find(name);
    if (it == record.end() || !it->is_string()) {
      Problem(n, std::string("malformed record: \"") + name + "\" missing or not a string");
      return std::nullopt;
    }
    return it->get<std::string>();
  }

  void CheckRecord(uint64_t n, uint64_t seq, const json& record) {
    ++report_.records;
    if (seq != last_seq_ + 1) {
      Problem(n, last_line_ == 0 ? "record missing or reordered: the first record has seq " +
                                       std::to_string(seq) + ", not 1"
                                 : "record missing or reordered: seq " + std::to_string(seq) +
                                       " follows " + std::to_string(last_seq_));
    }
    if (std::optional<std::string> prev = StringField(n, record, kFieldPrev);
        prev && *prev != prev_hash_) {
      Problem(n, last_line_ == 0
                     ? std::string("chain broken: the first record's prev is not zero")
                     : "chain broken: prev does not match line " + std::to_string(last_line_));
    }
    if (std::optional<std::string> time = StringField(n, record, kFieldTime)) {
      if (report_.first_time.empty()) report_.first_time = *time;
      report_.last_time = *time;
    }
    (void)StringField(n, record, kFieldEvent);
    if (std::optional<std::string> volume = StringField(n, record, kFieldVolume)) {
      if (volume_.empty()) volume_ = *volume;
      if (*volume != volume_) {
        Problem(n, "record of another store (volume " + *volume + ", expected " + volume_ + ")");
      }
    }
    CheckSignature(n, record);
  }

  void CheckSignature(uint64_t n, const json& record) {
    auto it = record.find(kFieldSig);
    if (it == record.end()) {
      if (report_.trailing_unsigned++ == 0) first_uncovered_ = n;
      return;
    }
    Result<std::vector<uint8_t>> sig =
        it->is_string() ? crypto::Base64Decode(it->get<std::string>())
                        : Result<std::vector<uint8_t>>(Status::Corruption("not a string"));
    if (!sig.ok() || sig->size() != crypto::Ed25519PrivateKey::kSignatureSize) {
      return Problem(n, "malformed record: \"sig\" is not a base64 Ed25519 signature");
    }
    std::string body = SignedBody(record);
    Status st = crypto::Ed25519Verify(
        options_.public_key, std::span(reinterpret_cast<const uint8_t*>(body.data()), body.size()),
        *sig);
    if (!st.ok()) return Problem(n, "record edited: signature does not verify");
    ++report_.signed_records;
    // This signature covers every record before it through the chain of `prev` hashes.
    report_.trailing_unsigned = 0;
  }

  const VerifyOptions& options_;
  std::string volume_;  // the volume every record must name, once known
  VerifyReport report_;
  uint64_t last_seq_ = 0;   // of the last record (0 before the first)
  uint64_t last_line_ = 0;  // line number of the last record (0 before the first)
  std::string prev_hash_{kZeroHash};
  uint64_t first_uncovered_ = 0;  // line of the first unsigned record since the last signed
};

}  // namespace

Result<VerifyReport> VerifyAuditLog(const std::string& path, const VerifyOptions& options) {
  if (options.public_key.size() != crypto::Ed25519PrivateKey::kPublicKeySize) {
    return Status::InvalidArgument("the audit public key must be 32 bytes, not " +
                                   std::to_string(options.public_key.size()));
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "opening audit log " + path);
  LineReader reader(fd.get(), path);
  Verifier verifier(options);
  for (uint64_t n = 1;; ++n) {
    MV_ASSIGN_OR_RETURN(std::optional<LineReader::Line> line, reader.Next());
    if (!line) break;
    verifier.Check(n, *line);
  }
  return verifier.Finish();
}

}  // namespace modelvault::audit
