#include "volume/content_layout.h"

namespace modelvault::volume {

bool IsValidBlockSize(uint64_t block_size) {
  return block_size >= kMinBlockSize && block_size <= kMaxBlockSize &&
         (block_size & (block_size - 1)) == 0;
}

uint64_t ContentLayout::PlainSize(uint64_t backing_size) const {
  if (backing_size <= kFileHeaderSize) return 0;
  uint64_t body = backing_size - kFileHeaderSize;
  uint64_t full = body / stored_block_size();
  uint64_t tail = body % stored_block_size();
  uint64_t size = full * block_size_;
  if (tail > kBlockOverhead) size += tail - kBlockOverhead;
  return size;
}

bool ContentLayout::TailIsValid(uint64_t backing_size) const {
  if (backing_size == 0 || backing_size == kFileHeaderSize) return true;
  if (backing_size < kFileHeaderSize) return false;
  uint64_t tail = (backing_size - kFileHeaderSize) % stored_block_size();
  return tail == 0 || tail > kBlockOverhead;
}

uint64_t ContentLayout::BackingSize(uint64_t plain_size) const {
  uint64_t full = plain_size / block_size_;
  uint64_t tail = plain_size % block_size_;
  return kFileHeaderSize + full * stored_block_size() + (tail ? tail + kBlockOverhead : 0);
}

}  // namespace modelvault::volume
