// Getting the master key of a store from what the user gave on the command line: a key
// file, a passphrase file, or a passphrase typed at the terminal. Shared by every
// subcommand that needs a key, and by `init`, which enrols the first one.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "base/result.h"
#include "base/secret_bytes.h"
#include "keyprovider/key_provider.h"
#include "volume/volume_header.h"

namespace modelvault::cli {

struct UnlockOptions {
  std::string keyfile, passphrase_file;
};

// Adds --keyfile FILE and --passphrase-file FILE to `cmd`, stored in `opts`.
void AddUnlockOptions(CLI::App* cmd, UnlockOptions* opts);

// Tries every keyslot of the header that a given key can open: the key file on keyfile
// slots, the passphrase on passphrase slots. With neither option and a terminal on stdin,
// asks for a passphrase (without echo). Errors name `backing` and the slots tried.
Result<SecretBytes> UnlockMasterKey(const std::string& backing, const volume::VolumeHeader& header,
                                    const UnlockOptions& opts);

// The provider for a new store's first keyslot: exactly one of the options, or a passphrase
// typed twice at the terminal.
Result<std::unique_ptr<keyprovider::KeyProvider>> ProviderForEnrol(const UnlockOptions& opts);

}  // namespace modelvault::cli
