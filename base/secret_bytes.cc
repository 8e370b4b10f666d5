#include "base/secret_bytes.h"

#include <openssl/crypto.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace modelvault {
namespace {

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

struct Mapping {
  uint8_t* data;
  bool locked;
};

// Anonymous pages of their own, so that locking and MADV_DONTDUMP apply to secrets alone and
// never to neighbouring heap data.
Mapping MapLocked(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) std::abort();
  bool locked = mlock(p, bytes) == 0;
  (void)madvise(p, bytes, MADV_DONTDUMP);
  return {static_cast<uint8_t*>(p), locked};
}

// Keys are small and a daemon derives one per open file, so small secrets share locked
// pages in fixed slots instead of costing a map, lock, unlock and unmap each. Slots are
// wiped when freed; the pages stay mapped for reuse.
class SmallSecretArena {
 public:
  static constexpr size_t kSlotSize = 64;
  static constexpr size_t kRegionSize = 64 * 1024;

  Mapping Allocate() {
    std::lock_guard lock(mu_);
    if (free_.empty()) Grow();
    Mapping slot = free_.back();
    free_.pop_back();
    return slot;
  }
  void Free(uint8_t* data, bool locked) {
    OPENSSL_cleanse(data, kSlotSize);
    std::lock_guard lock(mu_);
    free_.push_back({data, locked});
  }

  // Locks every region again; returns false if any could not be locked.
  bool Relock() {
    std::lock_guard lock(mu_);
    bool all = true;
    for (uint8_t* region : regions_) all = mlock(region, kRegionSize) == 0 && all;
    return all;
  }

 private:
  void Grow() {
    Mapping region = MapLocked(kRegionSize);
    regions_.push_back(region.data);
    for (size_t off = 0; off < kRegionSize; off += kSlotSize) {
      free_.push_back({region.data + off, region.locked});
    }
  }
  std::mutex mu_;
  std::vector<Mapping> free_;      // guarded by mu_
  std::vector<uint8_t*> regions_;  // guarded by mu_
};

SmallSecretArena& Arena() {
  static auto* arena = new SmallSecretArena();  // never destroyed: secrets may outlive main
  return *arena;
}

// Secrets too large for the arena, so that RelockSecretMemory() can find them.
std::mutex g_large_mu;
std::map<uint8_t*, size_t> g_large;  // guarded by g_large_mu

}  // namespace

SecretBytes::SecretBytes(size_t size) : size_(size) {
  if (size == 0) return;
  Mapping m;
  if (size <= SmallSecretArena::kSlotSize) {
    m = Arena().Allocate();
  } else {
    mapped_ = (size + PageSize() - 1) / PageSize() * PageSize();
    m = MapLocked(mapped_);
    std::lock_guard lock(g_large_mu);
    g_large[m.data] = mapped_;
  }
  data_ = m.data;
  locked_ = m.locked;
}

SecretBytes SecretBytes::CopyOf(std::span<const uint8_t> bytes) {
  SecretBytes out(bytes.size());
  if (!bytes.empty()) std::memcpy(out.data_, bytes.data(), bytes.size());
  return out;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)),
      locked_(std::exchange(other.locked_, false)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Free();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
    locked_ = std::exchange(other.locked_, false);
  }
  return *this;
}

SecretBytes::~SecretBytes() { Free(); }

void SecretBytes::Free() {
  if (data_ == nullptr) return;
  if (mapped_ == 0) {
    Arena().Free(data_, locked_);
  } else {
    OPENSSL_cleanse(data_, mapped_);
    {
      std::lock_guard lock(g_large_mu);
      g_large.erase(data_);
    }
    munlock(data_, mapped_);
    munmap(data_, mapped_);
  }
  data_ = nullptr;
  size_ = mapped_ = 0;
  locked_ = false;
}

bool SecretBytes::Equals(const SecretBytes& other) const {
  return ConstantTimeEquals(span(), other.span());
}

bool RelockSecretMemory() {
  bool all = Arena().Relock();
  std::lock_guard lock(g_large_mu);
  for (const auto& [data, size] : g_large) all = mlock(data, size) == 0 && all;
  return all;
}

void Cleanse(std::span<uint8_t> bytes) {
  if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
}

bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace modelvault
