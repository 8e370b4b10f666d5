#include "cli/enrol.h"

#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <set>
#include <sstream>

#include "base/file_util.h"
#include "cli/secret_inputs.h"
#include "cli/terminal.h"
#include "keyprovider/recovery_key.h"

namespace modelvault::cli {
namespace {

using keyprovider::KeyProvider;

constexpr int kMaxPcr = 23;

// "0,7" -> {0, 7}: distinct PCR numbers of the SHA-256 bank.
Result<std::vector<int>> ParsePcrs(const std::string& text) {
  std::vector<int> pcrs;
  if (text.empty()) return Status::InvalidArgument("--tpm2-pcrs is empty (leave it out for none)");
  if (text.back() == ',') return Status::InvalidArgument("--tpm2-pcrs ends with a comma");
  std::set<int> seen;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    int pcr = -1;
    try {
      pcr = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || pcr < 0 || pcr > kMaxPcr) {
      return Status::InvalidArgument("--tpm2-pcrs: \"" + item +
                                     "\" is not a PCR number from 0 to 23");
    }
    if (!seen.insert(pcr).second) {
      return Status::InvalidArgument("--tpm2-pcrs: PCR " + item + " is listed twice");
    }
    pcrs.push_back(pcr);
  }
  return pcrs;
}

Result<std::optional<SecretBytes>> OptionalPin(const std::string& path) {
  if (path.empty()) return std::optional<SecretBytes>();
  MV_ASSIGN_OR_RETURN(SecretBytes pin, ReadPinFile(path));
  return std::optional<SecretBytes>(std::move(pin));
}

std::string Names(EnrolFlags flags) {
  return flags == EnrolFlags::kInit
             ? "--keyfile, --passphrase-file, --tpm2 or --pkcs11"
             : "--new-keyfile, --new-passphrase-file, --recovery, --tpm2 or --pkcs11";
}

}  // namespace

void AddEnrolOptions(CLI::App* cmd, EnrolSettings* s, EnrolFlags flags) {
  const bool init = flags == EnrolFlags::kInit;
  const std::string group = init ? "The first keyslot" : "The new keyslot";
  cmd->add_option(init ? "--keyfile" : "--new-keyfile", s->keyfile,
                  "A key file of 32 bytes (see keygen) opens the slot")
      ->type_name("FILE")
      ->group(group);
  cmd->add_option(init ? "--passphrase-file" : "--new-passphrase-file", s->passphrase_file,
                  "The passphrase in FILE opens the slot")
      ->type_name("FILE")
      ->group(group);
  if (!init) {
    cmd->add_flag("--recovery", s->recovery, "A new recovery key opens the slot")->group(group);
  }
  cmd->add_option("--recovery-key-out", s->recovery_key_out,
                  init ? "Also make a recovery slot; write its key to FILE (a new file)"
                       : "Write the new recovery key to FILE (default: show it on the terminal)")
      ->type_name("FILE")
      ->group(group);
  cmd->add_flag("--tpm2", s->tpm2, "Seal the slot to this host's TPM")->group(group);
  cmd->add_option("--tpm2-pcrs", s->tpm2_pcrs,
                  "Bind the TPM slot to these SHA-256 PCRs' current values, e.g. 0,7")
      ->each([s](const std::string&) { s->tpm2_pcrs_given = true; })
      ->type_name("LIST")
      ->group(group);
  cmd->add_option("--tpm2-pin-file", s->tpm2_pin_file, "Also require the PIN in FILE")
      ->type_name("FILE")
      ->group(group);
  cmd->add_option("--tpm2-tcti", s->tpm2_tcti,
                  "TPM to use (default device:/dev/tpmrm0; swtpm:path=SOCKET, "
                  "swtpm:host=H,port=P)")
      ->type_name("TCTI")
      ->group(group);
  cmd->add_option("--pkcs11", s->pkcs11_uri,
                  "Wrap the slot with a key in a PKCS#11 token, chosen by an RFC 7512 URI")
      ->type_name("URI")
      ->group(group);
  cmd->add_option("--pin-file", s->pin_file,
                  "The token's user PIN (not needed to enrol with an RSA public key)")
      ->type_name("FILE")
      ->group(group);
  cmd->add_option("--pkcs11-module", s->pkcs11_module,
                  "PKCS#11 module (default: p11-kit's configured modules)")
      ->type_name("PATH")
      ->group(group);
}

Status CheckEnrolSettings(const EnrolSettings& s, EnrolFlags flags) {
  int asked =
      !s.keyfile.empty() + !s.passphrase_file.empty() + s.recovery + s.tpm2 + !s.pkcs11_uri.empty();
  if (asked > 1) return Status::InvalidArgument("give one of " + Names(flags) + ", not several");
  if (!s.tpm2 && (s.tpm2_pcrs_given || !s.tpm2_pin_file.empty() || !s.tpm2_tcti.empty())) {
    return Status::InvalidArgument("--tpm2-pcrs, --tpm2-pin-file and --tpm2-tcti need --tpm2");
  }
  if (s.pkcs11_uri.empty() && !s.pin_file.empty()) {
    return Status::InvalidArgument("--pin-file needs --pkcs11");
  }
  // In `keyslot add` the module may be there for --unlock-pkcs11 alone.
  if (flags == EnrolFlags::kInit && s.pkcs11_uri.empty() && !s.pkcs11_module.empty()) {
    return Status::InvalidArgument("--pkcs11-module needs --pkcs11");
  }
  if (!s.recovery && flags == EnrolFlags::kKeyslotAdd && !s.recovery_key_out.empty()) {
    return Status::InvalidArgument("--recovery-key-out needs --recovery");
  }
  return Status::Ok();
}

Result<std::unique_ptr<KeyProvider>> ProviderForEnrol(const EnrolSettings& s, EnrolFlags flags) {
  MV_RETURN_IF_ERROR(CheckEnrolSettings(s, flags));
  if (!s.keyfile.empty()) {
    MV_ASSIGN_OR_RETURN(SecretBytes key, ReadKeyfile(s.keyfile));
    return keyprovider::NewKeyfileProvider(std::move(key));
  }
  if (!s.passphrase_file.empty()) {
    MV_ASSIGN_OR_RETURN(SecretBytes passphrase, ReadPassphraseFile(s.passphrase_file));
    return keyprovider::NewPassphraseProvider(std::move(passphrase));
  }
  if (s.tpm2) {
    keyprovider::Tpm2Options options;
    options.tcti = s.tpm2_tcti.empty() ? keyprovider::kDefaultTpm2Tcti : s.tpm2_tcti;
    if (s.tpm2_pcrs_given) {
      MV_ASSIGN_OR_RETURN(options.pcrs, ParsePcrs(s.tpm2_pcrs));
    }
    MV_ASSIGN_OR_RETURN(options.pin, OptionalPin(s.tpm2_pin_file));
    return keyprovider::NewTpm2Provider(std::move(options));
  }
  if (!s.pkcs11_uri.empty()) {
    keyprovider::Pkcs11Options options;
    options.uri = s.pkcs11_uri;
    options.module = s.pkcs11_module;
    MV_ASSIGN_OR_RETURN(options.pin, OptionalPin(s.pin_file));
    return keyprovider::NewPkcs11Provider(std::move(options));
  }
  if (s.recovery) return Status::Internal("a recovery slot is made with NewRecoveryKeyFor");
  if (flags == EnrolFlags::kKeyslotAdd || !CanPrompt()) {
    return Status::InvalidArgument(std::string("no key given for the ") +
                                   (flags == EnrolFlags::kInit ? "first" : "new") +
                                   " keyslot: use " + Names(flags));
  }
  MV_ASSIGN_OR_RETURN(SecretBytes first, PromptSecret("New passphrase: "));
  MV_ASSIGN_OR_RETURN(SecretBytes second, PromptSecret("Repeat the passphrase: "));
  if (!first.Equals(second)) return Status::InvalidArgument("the passphrases do not match");
  return keyprovider::NewPassphraseProvider(std::move(first));
}

namespace {
std::string PartialPath(const std::string& out_path) { return out_path + ".partial"; }
}  // namespace

Status PendingRecoveryKey::Keep() {
  if (out_path.empty()) return Status::Ok();
  // link() rather than rename(): it never replaces a file that appeared at OUT meanwhile.
  if (link(PartialPath(out_path).c_str(), out_path.c_str()) != 0) {
    return Status::FromErrno(
        errno, "the recovery key is in " + PartialPath(out_path) + "; moving it to " + out_path);
  }
  unlink(PartialPath(out_path).c_str());
  return Status::Ok();
}

void PendingRecoveryKey::Discard() {
  if (!out_path.empty()) unlink(PartialPath(out_path).c_str());
}

Result<PendingRecoveryKey> NewRecoveryKeyFor(const std::string& out_path) {
  if (out_path.empty() && isatty(STDOUT_FILENO) != 1) {
    return Status::InvalidArgument(
        "a recovery key is shown only on a terminal: give --recovery-key-out FILE");
  }
  if (!out_path.empty() && access(out_path.c_str(), F_OK) == 0) {
    return Status::AlreadyExists(out_path + " exists; a recovery key is written to a new file");
  }
  PendingRecoveryKey pending;
  MV_ASSIGN_OR_RETURN(pending.key, keyprovider::NewRecoveryKey());
  if (!out_path.empty()) {
    SecretBytes text = keyprovider::FormatRecoveryKey(pending.key);
    SecretBytes line(text.size() + 1);
    std::copy(text.span().begin(), text.span().end(), line.data());
    line.data()[text.size()] = '\n';
    MV_RETURN_IF_ERROR(WriteNewFile(PartialPath(out_path), line.span(), 0600));
    pending.out_path = out_path;
  }
  return pending;
}

void ShowRecoveryKey(const PendingRecoveryKey& pending) {
  if (!pending.out_path.empty()) {
    std::cout << "Recovery key written to " << pending.out_path
              << ": keep it offline, away from the store.\n";
    return;
  }
  SecretBytes text = keyprovider::FormatRecoveryKey(pending.key);
  std::cout << "\nRecovery key (shown this once; write it down and keep it away from the "
               "store):\n\n    ";
  std::cout.write(reinterpret_cast<const char*>(text.data()),
                  static_cast<std::streamsize>(text.size()));
  std::cout << "\n\nIt unlocks the store with --recovery-key FILE.\n" << std::flush;
}

}  // namespace modelvault::cli
