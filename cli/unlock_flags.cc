// The unlock options on the command line.
#include "cli/unlock.h"

namespace modelvault::cli {

void AddUnlockOptions(CLI::App* cmd, config::UnlockSettings* s, UnlockFlags flags) {
  const std::string p = flags == UnlockFlags::kPrefixed ? "--unlock-" : "--";
  const std::string group = "Unlocking the store";
  cmd->add_option("--keyfile", s->keyfile, "Unlock with a key file of 32 bytes (see keygen)")
      ->type_name("FILE")
      ->group(group);
  cmd->add_option("--passphrase-file", s->passphrase_file,
                  "Unlock with the passphrase in FILE (one trailing newline is ignored)")
      ->type_name("FILE")
      ->group(group);
  cmd->add_option("--recovery-key", s->recovery_key_file,
                  "Unlock with the recovery key written in FILE")
      ->type_name("FILE")
      ->group(group);
  cmd->add_flag(p + "tpm2", s->tpm2, "Unlock with this host's TPM")->group(group);
  cmd->add_option(p + "tpm2-tcti", s->tpm2_tcti,
                  "TPM to use (default: the one each slot was sealed with; device:/dev/tpmrm0, "
                  "swtpm:path=SOCKET, swtpm:host=H,port=P)")
      ->type_name("TCTI")
      ->group(group);
  cmd->add_option(p + "tpm2-pin-file", s->tpm2_pin_file, "The TPM slot's PIN, from FILE")
      ->type_name("FILE")
      ->group(group);
  cmd->add_option(p + "pkcs11", s->pkcs11_uri,
                  "Unlock with the key in a PKCS#11 token (RFC 7512 URI; default: the URI each "
                  "slot was made with)")
      ->type_name("URI")
      ->group(group);
  cmd->add_option(p + "pin-file", s->pkcs11_pin_file, "The PKCS#11 token's user PIN, from FILE")
      ->type_name("FILE")
      ->group(group);
  if (flags == UnlockFlags::kPlain) {
    cmd->add_option("--pkcs11-module", s->pkcs11_module,
                    "PKCS#11 module (default: p11-kit's configured modules)")
        ->type_name("PATH")
        ->group(group);
  }
}

}  // namespace modelvault::cli
