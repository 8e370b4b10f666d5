#include "cli/secret_inputs.h"

#include "base/file_util.h"
#include "cli/terminal.h"
#include "keyprovider/recovery_key.h"

namespace modelvault::cli {

constexpr size_t kKeyfileSize = 32;

Result<SecretBytes> ReadKeyfile(const std::string& path) {
  // Read a little more than a key, so that a wrong file is reported by its size.
  MV_ASSIGN_OR_RETURN(SecretBytes key, ReadSecretFile(path, 4096));
  if (key.size() != kKeyfileSize) {
    return Status::InvalidArgument(path + ": a key file must be exactly 32 bytes (this one has " +
                                   std::to_string(key.size()) + ")");
  }
  return key;
}

Result<SecretBytes> ReadPassphraseFile(const std::string& path) {
  return ReadSecretTextFile(path, "the passphrase");
}

Result<SecretBytes> ReadPinFile(const std::string& path) {
  return ReadSecretTextFile(path, "the PIN");
}

Result<SecretBytes> ReadRecoveryKeyFile(const std::string& path) {
  MV_ASSIGN_OR_RETURN(SecretBytes text, ReadSecretTextFile(path, "the recovery key"));
  auto key = keyprovider::ParseRecoveryKey(text);
  if (!key.ok()) return key.status().Annotate(path);
  return key;
}

}  // namespace modelvault::cli
