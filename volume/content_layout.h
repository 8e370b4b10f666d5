// ContentLayout: where plaintext bytes live in a backing file (docs/FORMAT.md, "File
// content"). Pure arithmetic over the volume's block size; thread-safe.
//
//   +-------------+------------------------------+-----+---------------------------+
//   | file header | block 0                      | ... | last block (may be short) |
//   |  32 bytes   | nonce 12 | ciphertext | tag 16|     | nonce | ct (1..bs) | tag  |
//   +-------------+------------------------------+-----+---------------------------+
#pragma once

#include <cstdint>

namespace modelvault::volume {

inline constexpr uint64_t kFileHeaderSize = 32;
inline constexpr uint64_t kNonceSize = 12;
inline constexpr uint64_t kTagSize = 16;
inline constexpr uint64_t kBlockOverhead = kNonceSize + kTagSize;
inline constexpr uint32_t kMinBlockSize = 4096;
inline constexpr uint32_t kMaxBlockSize = 1u << 20;
inline constexpr uint32_t kDefaultBlockSize = 16384;  // chosen by benchmark: docs/PERFORMANCE.md

// A block size is valid if it is a power of two within [kMinBlockSize, kMaxBlockSize].
bool IsValidBlockSize(uint64_t block_size);

class ContentLayout {
 public:
  explicit ContentLayout(uint32_t block_size) : block_size_(block_size) {}

  uint32_t block_size() const { return block_size_; }
  uint64_t stored_block_size() const { return block_size_ + kBlockOverhead; }

  // Plaintext size for a backing file of `backing_size` bytes. A backing file with no
  // header is an empty file. A tail too short to hold a block (a cut file) is not counted;
  // TailIsValid() tells whether there is one.
  uint64_t PlainSize(uint64_t backing_size) const;
  bool TailIsValid(uint64_t backing_size) const;
  // Backing size of a file holding `plain_size` bytes (with its header).
  uint64_t BackingSize(uint64_t plain_size) const;
  // Offset of block `index` in the backing file.
  uint64_t BlockOffset(uint64_t index) const {
    return kFileHeaderSize + index * stored_block_size();
  }

 private:
  uint32_t block_size_;
};

}  // namespace modelvault::volume
