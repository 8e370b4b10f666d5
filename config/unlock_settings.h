// UnlockSettings: how to get a store's master key, from the command line or the "unlock"
// section of a mount config:
//
//   unlock:
//     order: [tpm2, pkcs11, recovery]   # methods to try, first to last (optional)
//     keyfile: /etc/modelvault/models.key
//     passphrase_file: /run/credentials/models.pass
//     recovery_key_file: /root/models.recovery
//     tpm2:                             # or "tpm2: true" for the defaults
//       tcti: device:/dev/tpmrm0        # default: the TCTI recorded in each slot
//       pin_file: /etc/modelvault/tpm.pin
//     pkcs11:
//       uri: "pkcs11:token=ops;object=models-kek"
//       pin_file: /run/credentials/hsm.pin
//       module: /usr/lib/softhsm/libsofthsm2.so   # default: p11-kit's proxy
//
// Files hold secrets; their paths do not. Nothing here is read until unlock time.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace modelvault::config {

// The names an "order" list may hold.
inline constexpr std::array<std::string_view, 5> kUnlockMethods = {"keyfile", "passphrase",
                                                                   "recovery", "tpm2", "pkcs11"};

struct UnlockSettings {
  std::vector<std::string> order;  // empty: keyfile, passphrase, recovery, tpm2, pkcs11
  std::string keyfile, passphrase_file, recovery_key_file;
  bool tpm2 = false;  // try tpm2 slots (also implied by tpm2 settings or "order")
  std::string tpm2_tcti, tpm2_pin_file;
  std::string pkcs11_uri, pkcs11_pin_file, pkcs11_module;

  // True if anything is said about how to unlock (a TPM PIN or a token's module alone
  // count); false means "try what needs no secret".
  bool AnyGiven() const {
    return !keyfile.empty() || !passphrase_file.empty() || !recovery_key_file.empty() || tpm2 ||
           !tpm2_tcti.empty() || !tpm2_pin_file.empty() || !pkcs11_uri.empty() ||
           !pkcs11_pin_file.empty() || !pkcs11_module.empty();
  }

  // True if the settings give what `method` needs to be tried: its file, "tpm2" (or its
  // settings), a token's URI.
  bool Gives(std::string_view method) const {
    if (method == "keyfile") return !keyfile.empty();
    if (method == "passphrase") return !passphrase_file.empty();
    if (method == "recovery") return !recovery_key_file.empty();
    if (method == "tpm2") return tpm2 || !tpm2_tcti.empty() || !tpm2_pin_file.empty();
    if (method == "pkcs11") return !pkcs11_uri.empty();
    return false;
  }

  // With nothing given (!AnyGiven()), the methods a mount tries: TPM slots that need no
  // PIN, then a passphrase typed at a terminal.
  static constexpr std::array<std::string_view, 2> kImplicitMethods = {"tpm2", "passphrase"};
};

}  // namespace modelvault::config
