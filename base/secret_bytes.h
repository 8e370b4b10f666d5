// SecretBytes: a fixed-size buffer for key material. Its memory is locked
// (mlock, best effort: IsLocked() reports whether it succeeded) and excluded from core
// dumps; the bytes are wiped with a cleanse that the compiler cannot drop when the buffer
// is freed or moved from. Move-only, never printable, compared in constant time.
//
// Raw access is spelled out (`data()`, `span()`) so every place that touches key bytes can
// be found with grep. Thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace modelvault {

class SecretBytes {
 public:
  SecretBytes() = default;
  // `size` zero bytes. Aborts if memory cannot be allocated.
  explicit SecretBytes(size_t size);
  // A copy of `bytes` (the caller wipes its own copy).
  static SecretBytes CopyOf(std::span<const uint8_t> bytes);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool IsLocked() const { return locked_; }
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  std::span<uint8_t> span() { return {data_, size_}; }
  std::span<const uint8_t> span() const { return {data_, size_}; }

  // Constant-time equality of contents (sizes are not secret).
  bool Equals(const SecretBytes& other) const;

 private:
  void Free();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;  // 0 for a slot of the shared small-secret pages
  bool locked_ = false;
};

// Locks the memory of every live secret again. Memory locks are not inherited across fork(),
// so a child that keeps secrets calls this; false if some memory could not be locked.
bool RelockSecretMemory();

// Wipes `bytes` in a way the optimizer keeps.
void Cleanse(std::span<uint8_t> bytes);
// Constant-time comparison of equally sized buffers; false when the sizes differ.
bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b);

}  // namespace modelvault
