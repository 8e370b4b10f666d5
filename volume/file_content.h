// FileContent: reads and writes the plaintext of one backing file through its encrypted
// blocks (docs/FORMAT.md, "File content").
//
// Every block is AES-256-GCM under the file's own key with a fresh random nonce per write;
// the associated data binds the file ID and the block index, so a block that was changed,
// reordered or moved from another file fails authentication, and Read() returns Corruption
// (EIO), never wrong bytes. A backing file cut inside a block is Corruption too.
//
// Thread-safety: Read() may run concurrently with other Read()s. Write(), Truncate() and
// the first Write() that creates a header must be serialised by the caller against all
// other calls on the same file (the filesystem holds its per-inode lock exclusively).
// The caller owns the file descriptor, which must be open for reading and writing
// (without O_APPEND) for Write() and Truncate().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "base/result.h"
#include "crypto/aes_gcm.h"
#include "volume/content_layout.h"
#include "volume/ids.h"
#include "volume/volume_keys.h"

namespace modelvault::volume {

class FileContent {
 public:
  // Reads the header of the backing file `fd` (an empty backing file has none yet; Write()
  // creates it). `name` is the backing path, used in error messages only.
  static Result<std::unique_ptr<FileContent>> Load(int fd, std::shared_ptr<const VolumeKeys> keys,
                                                   ContentLayout layout, std::string name);
  // Writes a header with a new file ID to the empty backing file `fd`.
  static Result<std::unique_ptr<FileContent>> Create(int fd, std::shared_ptr<const VolumeKeys> keys,
                                                     ContentLayout layout, std::string name);

  // Plaintext size, from the backing file's size.
  Result<uint64_t> Size(int fd) const;
  // Checks one stored block (nonce, ciphertext, tag) before it is decrypted: a signed file's
  // blocks are compared with the publisher's Merkle leaves (volume/manifest.h).
  using BlockCheck = std::function<Status(uint64_t index, std::span<const uint8_t> stored)>;
  // Reads up to out.size() bytes at `offset`; returns the count (short only at end of file).
  // With `check`, every block read is passed to it first; its error is returned as is.
  Result<size_t> Read(int fd, std::span<uint8_t> out, uint64_t offset,
                      const BlockCheck& check = {}) const;
  // Writes `in` at `offset`, zero-filling any gap past the current end.
  Status Write(int fd, std::span<const uint8_t> in, uint64_t offset);
  // Sets the plaintext size: shrinking re-encrypts the new last block, growing zero-fills.
  Status Truncate(int fd, uint64_t size);

  const std::optional<FileId>& file_id() const { return file_id_; }
  const ContentLayout& layout() const { return layout_; }

 private:
  FileContent(std::shared_ptr<const VolumeKeys> keys, ContentLayout layout, std::string name)
      : keys_(std::move(keys)), layout_(layout), name_(std::move(name)) {}
  Status EnsureHeader(int fd);
  // `backing` is the backing file's size, which the caller has just looked up.
  Status ReadBlocks(int fd, uint64_t backing, uint64_t first, uint64_t count, uint64_t skip,
                    std::span<uint8_t> out, const BlockCheck& check) const;
  Status ReadPart(int fd, uint64_t backing, uint64_t first, uint64_t count, uint64_t skip,
                  std::span<uint8_t> out, const BlockCheck& check) const;
  Status WriteBlocks(int fd, uint64_t first, std::span<const uint8_t> plain);
  Status WriteAt(int fd, std::span<const uint8_t> in, uint64_t offset, uint64_t size);
  Status ZeroFill(int fd, uint64_t from, uint64_t to);
  Status Grow(int fd, uint64_t from, uint64_t to);
  Status CheckSize(uint64_t size) const;
  Status Corrupt(uint64_t block, std::string_view what) const;

  std::shared_ptr<const VolumeKeys> keys_;
  ContentLayout layout_;
  std::string name_;
  std::optional<FileId> file_id_;
  std::optional<crypto::AesGcm> cipher_;
};

}  // namespace modelvault::volume
