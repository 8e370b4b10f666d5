// The publisher's signing key as `sign` and `unfreeze` take it: a PEM file, or a key in a
// PKCS#11 token named by an RFC 7512 URI (with --pin-file and --pkcs11-module). The key
// stays in this process (or the token); the mount daemon never sees it.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "base/result.h"
#include "volume/manifest.h"

namespace modelvault::cli {

struct PublisherKeySettings {
  std::string key;  // PEM path or "pkcs11:..."
  std::string pin_file, pkcs11_module;
};

void AddPublisherKeyOptions(CLI::App* cmd, PublisherKeySettings* settings);
Result<std::unique_ptr<volume::ManifestSigner>> OpenPublisherKey(const PublisherKeySettings& s);

}  // namespace modelvault::cli
