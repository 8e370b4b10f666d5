// Golden values of format version 1, computed by tests/volume/testdata/make_golden.py from
// docs/FORMAT.md with Python's cryptography package, independently of modelvault's code.
// A change that breaks a test using them changes the on-disk format.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/secret_bytes.h"

namespace modelvault::golden {

// A header with a keyfile slot (id 0, key file of 32 bytes 0xa5) and a passphrase slot
// (id 1, kPassphrase, n = 1024), sealed under MasterKey().
inline constexpr char kHeader[] = R"({
  "block_size": 65536,
  "cipher": "AES-256-GCM",
  "created": "2026-11-26T00:30:00Z",
  "format": "modelvault",
  "keyslots": [
    {
      "created": "2026-11-26T00:30:00Z",
      "id": 0,
      "kdf": "hkdf-sha256",
      "nonce": "AgICAgICAgICAgIC",
      "salt": "AQEBAQEBAQEBAQEBAQEBAQ==",
      "type": "keyfile",
      "wrapped_key": "WI/NlPDEU34/lAihTvl4nV5VCUX8xR7EE302qFpRyV+7RZ6UZ1jKnu1IPZKbtSmy"
    },
    {
      "created": "2026-11-26T00:30:00Z",
      "id": 1,
      "kdf": "scrypt",
      "n": 1024,
      "nonce": "BAQEBAQEBAQEBAQE",
      "p": 1,
      "r": 8,
      "salt": "AwMDAwMDAwMDAwMDAwMDAw==",
      "type": "passphrase",
      "wrapped_key": "AmjV/ReVL7saVqa6oDHqoAd3mR1Uu04cgBe0l4k17GXtuthvK1FKm/pPE1hYHvUK"
    }
  ],
  "mac": "jIa1FUSF4OzFY6sTaPcudIyuw5fE4KYmuFJ1p1BIV4g=",
  "name_cipher": "AES-256-SIV",
  "version": 1,
  "volume_id": "101112131415161718191a1b1c1d1e1f"
}
)";
inline constexpr uint8_t kVolumeIdFirst = 0x10;  // the volume ID is 10 11 .. 1f
inline constexpr uint8_t kKeyfileByte = 0xa5;
inline constexpr char kPassphrase[] = "correct horse battery staple";

// Subkeys of MasterKey(); the content key is for the file ID 40 41 .. 4f.
inline constexpr char kHeaderMacKey[] =
    "604ddf5642dd9a5bf1c6ff81bab18d3a048e3f11f7125300e65feb64405a1c0c";
inline constexpr char kNamesKey[] =
    "69d768a2934dcdf9a5f6c5cda986495ec10070b7cc18da1cc5204b2eb70d9d7b"
    "81a9686d2b087708c30acc178d099b6769f1ec660c0e5c4ef92216f2368eb983";
inline constexpr char kXattrKey[] =
    "af67816096a62f2ff3f481ba033454c6b0fa24dfc3a9a336c668f209f566fe94";
inline constexpr char kContentKey[] =
    "629b6e684a3c0d8dbbe14ff7473d38e1255ffef8c5ac1b0d3bf5c92cb2a9e636";
inline constexpr uint8_t kFileIdFirst = 0x40;

// `size` bytes counting up from `first`.
inline SecretBytes Counting(size_t size, uint8_t first) {
  SecretBytes out(size);
  for (size_t i = 0; i < size; ++i) out.data()[i] = static_cast<uint8_t>(first + i);
  return out;
}
inline SecretBytes Filled(size_t size, uint8_t value) {
  SecretBytes out(size);
  for (size_t i = 0; i < size; ++i) out.data()[i] = value;
  return out;
}
inline SecretBytes Text(const std::string& s) {
  return SecretBytes::CopyOf({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

// The master key 00 01 .. 1f.
inline SecretBytes MasterKey() { return Counting(32, 0); }

}  // namespace modelvault::golden
