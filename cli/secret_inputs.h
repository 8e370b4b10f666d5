// Reading the secrets the user hands over in files: key files, passphrases, PINs and
// recovery keys. Errors name the file and what is wrong with it, never its contents.
#pragma once

#include <string>

#include "base/result.h"
#include "base/secret_bytes.h"

namespace modelvault::cli {

Result<SecretBytes> ReadKeyfile(const std::string& path);
Result<SecretBytes> ReadPassphraseFile(const std::string& path);
Result<SecretBytes> ReadPinFile(const std::string& path);
// The 32-byte key of a recovery key file (its printed form; see keyprovider/recovery_key.h).
Result<SecretBytes> ReadRecoveryKeyFile(const std::string& path);

}  // namespace modelvault::cli
