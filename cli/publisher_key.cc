#include "cli/publisher_key.h"

#include "cli/secret_inputs.h"
#include "keyprovider/pkcs11_signer.h"
#include "volume/file_signer.h"

namespace modelvault::cli {

void AddPublisherKeyOptions(CLI::App* cmd, PublisherKeySettings* s) {
  cmd->add_option("--signing-key", s->key,
                  "The publisher's key: an Ed25519 private key PEM (see signing-key generate) "
                  "or a PKCS#11 URI")
      ->type_name("KEY")
      ->required();
  cmd->add_option("--pin-file", s->pin_file, "The token's user PIN, for a PKCS#11 key")
      ->type_name("FILE");
  cmd->add_option("--pkcs11-module", s->pkcs11_module,
                  "PKCS#11 module (default: p11-kit's configured modules)")
      ->type_name("PATH");
}

Result<std::unique_ptr<volume::ManifestSigner>> OpenPublisherKey(const PublisherKeySettings& s) {
  if (!s.key.starts_with("pkcs11:")) {
    if (!s.pin_file.empty() || !s.pkcs11_module.empty()) {
      return Status::InvalidArgument("--pin-file and --pkcs11-module are for a PKCS#11 key");
    }
    return volume::NewFileSigner(s.key);
  }
  keyprovider::Pkcs11Options options;
  options.uri = s.key;
  options.module = s.pkcs11_module;
  if (!s.pin_file.empty()) {
    MV_ASSIGN_OR_RETURN(SecretBytes pin, ReadPinFile(s.pin_file));
    options.pin = std::move(pin);
  }
  return keyprovider::NewPkcs11Signer(options);
}

}  // namespace modelvault::cli
