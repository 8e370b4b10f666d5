// Making a new keyslot: which provider the user asked for (init's first slot, or
// `keyslot add`), the recovery key's output, and committing a slot to the header.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "keyprovider/key_provider.h"
#include "volume/volume_header.h"

namespace modelvault::cli {

struct EnrolSettings {
  std::string keyfile, passphrase_file;
  bool recovery = false;
  bool tpm2 = false;
  std::string tpm2_pcrs, tpm2_pin_file, tpm2_tcti;
  bool tpm2_pcrs_given = false;  // "--tpm2-pcrs ''" is an error, not "no PCRs"
  std::string pkcs11_uri, pin_file, pkcs11_module;
  std::string recovery_key_out;  // where to write a new recovery key ("" = the terminal)
};

// `init` names the first slot with --keyfile/--passphrase-file; `keyslot add` uses those
// to unlock, so its new slot is --new-keyfile/--new-passphrase-file/--recovery.
enum class EnrolFlags { kInit, kKeyslotAdd };
void AddEnrolOptions(CLI::App* cmd, EnrolSettings* settings, EnrolFlags flags);

// InvalidArgument unless `settings` asks for at most one kind of slot, and its options
// belong to that kind.
Status CheckEnrolSettings(const EnrolSettings& settings, EnrolFlags flags);

// A provider for the one slot `settings` asks for. With nothing asked and a terminal,
// `init` asks for a new passphrase twice; otherwise nothing asked is InvalidArgument.
Result<std::unique_ptr<keyprovider::KeyProvider>> ProviderForEnrol(const EnrolSettings& settings,
                                                                   EnrolFlags flags);

// A new recovery key, already written to "OUT.partial" (a new file, mode 0600) when
// `out_path` is given, or held to be shown on the terminal by ShowRecoveryKey once the slot
// exists. InvalidArgument if there is no path and stdout is not a terminal: a key nobody
// sees would make a slot nobody can use. After the slot is written, Keep() moves the file
// to OUT (never replacing a file there); if the slot is not made, Discard() removes it. A
// command killed in between leaves only the ".partial" file.
struct PendingRecoveryKey {
  SecretBytes key;
  std::string out_path;  // "" if it is for the terminal
  Status Keep();
  void Discard();
};
Result<PendingRecoveryKey> NewRecoveryKeyFor(const std::string& out_path);
void ShowRecoveryKey(const PendingRecoveryKey& pending);

}  // namespace modelvault::cli
