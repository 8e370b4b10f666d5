// Getting the master key of a store from what the user gave (command line or the "unlock"
// section of a config): key file, passphrase, recovery key, TPM, PKCS#11 token. Shared by
// every subcommand that needs the key.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "config/unlock_settings.h"
#include "volume/volume_header.h"

namespace modelvault::cli {

// `keyslot add` takes --tpm2 and --pkcs11 for the slot it makes, so there the unlock
// flags for hardware carry an "unlock-" prefix (--unlock-tpm2, --unlock-pkcs11, ...).
enum class UnlockFlags { kPlain, kPrefixed };

// Adds the unlock options to `cmd`, stored in `settings`: --keyfile, --passphrase-file,
// --recovery-key, --tpm2, --tpm2-tcti, --tpm2-pin-file, --pkcs11, --pin-file and (plain
// flags only) --pkcs11-module.
void AddUnlockOptions(CLI::App* cmd, config::UnlockSettings* settings,
                      UnlockFlags flags = UnlockFlags::kPlain);

struct Unlocked {
  SecretBytes master_key;
  int slot_id = -1;
  std::string slot_type;
};

// Tries the methods `settings` names, in its order, on every keyslot each may open; the
// first slot that opens gives the key. With no method named, tries what needs no secret
// (TPM slots without a PIN) and, on a terminal, asks for a passphrase if a passphrase slot
// exists. A failure names `backing` and says, slot by slot, what was tried and why it did
// not open. Nothing on disk changes.
Result<Unlocked> UnlockMasterKey(const std::string& backing, const volume::VolumeHeader& header,
                                 const config::UnlockSettings& settings);

}  // namespace modelvault::cli
