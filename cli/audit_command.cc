// `modelvault audit verify FILE`: checks a store's audit log with the store's audit public
// key, read from the store's header (no secret needed) or given in base64. Prints a summary
// and every problem with its line on stdout; any problem makes the command fail.
#include <iostream>
#include <memory>

#include "audit/verify.h"
#include "cli/commands.h"
#include "crypto/base64.h"
#include "crypto/ed25519.h"
#include "crypto/hex.h"
#include "volume/volume_header.h"

namespace modelvault::cli {
namespace {

struct VerifyArgs {
  std::string file;
  std::string backing;
  std::string public_key;
};

Result<audit::VerifyOptions> KeyFor(const VerifyArgs& a) {
  audit::VerifyOptions options;
  if (!a.backing.empty()) {
    MV_ASSIGN_OR_RETURN(volume::VolumeHeader header, volume::ReadVolumeHeader(a.backing));
    if (header.audit_key.empty()) {
      return Status::NotFound("the header of " + a.backing +
                              " has no audit key (the store predates audit logs); "
                              "pass the key with --public-key");
    }
    options.public_key = header.audit_key;
    options.volume_hex = crypto::HexEncode(header.volume_id.span());
    return options;
  }
  if (a.public_key.empty()) {
    return Status::InvalidArgument("give the store (--backing) or its audit key (--public-key)");
  }
  Result<std::vector<uint8_t>> key = crypto::Base64Decode(a.public_key);
  if (!key.ok() || key->size() != crypto::Ed25519PrivateKey::kPublicKeySize) {
    return Status::InvalidArgument("--public-key must be base64 of a 32-byte Ed25519 key");
  }
  options.public_key = std::move(key).value();
  return options;
}

void PrintReport(const std::string& file, const audit::VerifyReport& r) {
  std::cout << file << ": " << r.records << " records, " << r.signed_records << " signed";
  if (r.records > 0) std::cout << ", first " << r.first_time << ", last " << r.last_time;
  std::cout << "\n";
  for (const audit::AuditFinding& p : r.problems) {
    std::cout << "  line " << p.line << ": " << p.what << "\n";
  }
  if (r.problem_count > r.problems.size()) {
    std::cout << "  ... and " << (r.problem_count - r.problems.size()) << " more problems\n";
  }
  for (const audit::AuditFinding& w : r.warnings) {
    std::cout << "  line " << w.line << ": warning: " << w.what << "\n";
  }
  if (!r.ok()) return;
  if (r.trailing_unsigned == 0) {
    std::cout << "Chain and signatures intact.\n";
  } else {
    std::cout << "Chain intact; the last " << r.trailing_unsigned
              << " record(s) are not signed yet.\n";
  }
}

Status RunVerify(const VerifyArgs& a) {
  MV_ASSIGN_OR_RETURN(audit::VerifyOptions options, KeyFor(a));
  MV_ASSIGN_OR_RETURN(audit::VerifyReport report, audit::VerifyAuditLog(a.file, options));
  PrintReport(a.file, report);
  if (report.ok()) return Status::Ok();
  const audit::AuditFinding& first = report.problems.front();
  return Status::Corruption(a.file + ": " + std::to_string(report.problem_count) +
                            (report.problem_count == 1 ? " problem" : " problems") +
                            " (first: line " + std::to_string(first.line) + ": " + first.what +
                            ")");
}

void AddVerify(CLI::App* audit) {
  auto a = std::make_shared<VerifyArgs>();
  CLI::App* cmd = audit->add_subcommand("verify", "Check an audit log's chain and signatures");
  cmd->footer(
      "Needs no secret: the key is the store's audit public key, from its header\n"
      "(--backing, which also checks that every record is of that store) or in base64.\n"
      "Exits 1 if any record was edited, removed, inserted or reordered, or a line is not a\n"
      "record. Records after the last signed one are reported as warnings, and records cut\n"
      "off the end of the file cannot be detected from the file alone (keep a syslog copy).\n"
      "Examples:\n"
      "  modelvault audit verify /var/log/modelvault/models.audit --backing /srv/models.enc\n"
      "  modelvault audit verify models.audit --public-key "
      "'11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo='");
  cmd->add_option("FILE", a->file, "The audit log")->required();
  CLI::Option* backing =
      cmd->add_option("--backing", a->backing, "The store's backing directory (reads its key)");
  cmd->add_option("--public-key", a->public_key, "The audit public key, base64")->excludes(backing);
  SetAction(cmd, [a] { return RunVerify(*a); });
}

}  // namespace

void AddAuditCommand(CLI::App& app) {
  CLI::App* audit = app.add_subcommand("audit", "Check the store's tamper-evident audit log");
  audit->require_subcommand(1);
  audit->footer(
      "Examples:\n"
      "  modelvault mount /srv/models.enc /models --keyfile KEY --audit-log models.audit\n"
      "  modelvault audit verify models.audit --backing /srv/models.enc");
  AddVerify(audit);
}

}  // namespace modelvault::cli
