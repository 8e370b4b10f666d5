// Signed directories (docs/FORMAT.md, "Signed directories"): a publisher's manifest over
// the ciphertext of a directory tree, so that a reader with the publisher's public key, and
// no store key, can tell whether anything in it was added, removed, swapped, truncated,
// extended, edited or rolled back.
//
// In the backing directory of a signed directory D:
//   D/.mvmanifest          the signed manifest (JSON), covering every backing entry below D
//   D/.mvhashes/<file id>  per regular file: the SHA-256 leaf hash of each ciphertext block,
//                          32 bytes each in block order (unsigned; checked against the
//                          manifest's Merkle root when loaded), so a reader verifies a block
//                          with one hash and no extra I/O
//   D/.mvfrozen            present while D is frozen (immutable through the mount)
// None of these holds plaintext. Names starting with '.' are internal to the backing
// directory, so a listing through the mount never shows them.
//
// Thread-compatible value types; free functions are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/hash.h"
#include "volume/ids.h"

namespace modelvault::volume {

inline constexpr char kManifestFile[] = ".mvmanifest";
inline constexpr char kHashesDir[] = ".mvhashes";
inline constexpr char kFrozenMarker[] = ".mvfrozen";

// Merkle tree over a file's ciphertext blocks (each block as stored: nonce, ciphertext,
// tag). Leaf = SHA-256(0x00 || block); node = SHA-256(0x01 || left || right); a level with
// an odd count carries its last node up unchanged; the root of zero blocks is
// SHA-256(0x02) (an empty file).
crypto::Digest MerkleLeaf(std::span<const uint8_t> block);
crypto::Digest MerkleRoot(std::span<const crypto::Digest> leaves);

struct ManifestEntry {
  enum class Kind { kFile, kDir, kSymlink, kOther };
  // The entry's backing path relative to the signed directory, '/'-separated
  // ("AbC.../dEf..."); internal files (.mvdir, long-name sidecars) are entries too, as
  // kOther, so that a swapped sidecar (which carries an encrypted long name) is caught.
  std::string path;
  Kind kind = Kind::kFile;
  uint64_t size = 0;        // backing (ciphertext) size in bytes; 0 for directories
  FileId file_id;           // kFile: from the file's 32-byte header
  uint64_t blocks = 0;      // kFile: number of ciphertext blocks
  crypto::Digest digest{};  // kFile: Merkle root; kSymlink: SHA-256 of the backing link
                            // target; kOther: SHA-256 of the content; kDir: zeros
};

struct Manifest {
  VolumeId volume_id;
  uint64_t version = 1;   // counts up with every re-signing of this directory
  std::string signed_at;  // RFC 3339 UTC
  // The signed directory's own backing name in its parent ("" for the store's root), so
  // that two signed directories cannot be swapped, or one copied under another name.
  std::string directory;
  uint32_t block_size = 0;             // the store's plaintext block size
  std::string algorithm;               // "ed25519" or "ecdsa-p256-sha256"
  std::vector<uint8_t> public_key;     // the signer's key (raw Ed25519, or SEC1 uncompressed P-256)
  std::vector<ManifestEntry> entries;  // sorted by path
  std::vector<uint8_t> signature;

  // Parses the text of a .mvmanifest; Corruption naming `path` and what is wrong.
  static Result<Manifest> Parse(std::string_view text, const std::string& path);
  // The bytes the signature covers: canonical JSON of everything but "signature".
  std::string SignedBody() const;
  // The file's contents (with the signature).
  std::string Serialize() const;
  // The entry at `path`, or nullptr.
  const ManifestEntry* Find(std::string_view path) const;
  // "sha256:<hex of SHA-256(public_key)>", to name the signer in messages and state.
  std::string KeyId() const;
};

// Bounds what a hostile .mvmanifest costs to read (an entry takes about 250 bytes).
inline constexpr size_t kMaxManifestSize = 64 << 20;
// Reads and parses `signed_dir`/.mvmanifest: IOError (ENOENT) if there is none, Corruption
// naming the file if it does not parse. The signature is not checked here.
Result<Manifest> ReadManifest(const std::string& signed_dir);

// True for the names at the top of a signed directory that are not entries: .mvmanifest,
// .mvhashes, .mvfrozen, and, when the store's root is signed, modelvault.json and
// modelvault.lock (the header has its own MAC and rollback check, and changes with every
// keyslot edit); also each of these with ".tmp" appended (an atomic write cut short).
bool IsSignedDirInternal(std::string_view top_level_name);

// Makes a signature over `body` ("ed25519" or "ecdsa-p256-sha256"); implemented by a key
// file or a PKCS#11 token. The publisher's key stays with whoever holds the Signer.
class ManifestSigner {
 public:
  virtual ~ManifestSigner() = default;
  virtual std::string Algorithm() const = 0;
  virtual std::vector<uint8_t> PublicKey() const = 0;
  virtual Result<std::vector<uint8_t>> Sign(std::span<const uint8_t> body) = 0;
};

// The public keys a reader trusts (from --trust PEM files).
struct TrustedKey {
  std::string algorithm;
  std::vector<uint8_t> public_key;
  std::string source;  // the file it came from, for messages
};

// Ok if `manifest` carries a key in `trusted` and its signature verifies under it;
// PermissionDenied "signed by an untrusted key sha256:..." or Corruption "signature does
// not verify" otherwise.
Status VerifyManifestSignature(const Manifest& manifest, std::span<const TrustedKey> trusted);

// Progress of long walks (signing, verifying): bytes done of bytes total.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

// Reads the backing tree of a directory, `signed_dir` (a backing path), and builds the
// manifest entries (without version, time or signature) and writes .mvhashes/<file id> for
// every regular file. `block_size` is the store's. Internal files of the signed dir itself
// (.mvmanifest, .mvhashes, .mvfrozen) are not entries.
Result<std::vector<ManifestEntry>> HashSignedTree(const std::string& signed_dir,
                                                  uint32_t block_size, const ProgressFn& progress);

// One problem `modelvault verify` found, for one entry path (or "" for the manifest).
struct VerifyProblem {
  std::string path;
  std::string what;
};
// Checks a signed directory's backing tree against its manifest with no store key: every
// entry present with its kind, size, file ID and digest (every block hashed), nothing
// added, and each .mvhashes file consistent. The signature is checked separately.
Result<std::vector<VerifyProblem>> VerifySignedTree(const std::string& signed_dir,
                                                    const Manifest& manifest,
                                                    const ProgressFn& progress);

}  // namespace modelvault::volume
