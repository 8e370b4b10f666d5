// MountCounters: what a mount daemon counts while it serves, for `modelvault status` and
// the metrics file (docs/MONITORING.md). Every counter only grows, from 0 at mount.
//
// Thread-safe and lock-free: request threads add with relaxed atomics, so counting costs a
// read or write one uncontended add. Each counter is exact on its own; a Snapshot() of
// several is not one instant, which monitoring does not need.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace modelvault::fs {

// The checks of signed directories that can fail (signed_tree.h SignatureFailureFn), in the
// order the counters keep them; a name not listed counts as the last, "other".
inline constexpr std::array<std::string_view, 7> kSignatureChecks = {
    "signature", "rollback", "listing", "file", "block", "unsigned", "other"};

struct CounterValues {
  uint64_t read_requests = 0, read_bytes = 0;
  uint64_t write_requests = 0, written_bytes = 0;
  // Reads refused because a block failed authentication (or was cut short): each read of a
  // bad block counts, so a reader that retries counts again.
  uint64_t auth_failures = 0;
  uint64_t denied = 0;  // requests the access gate refused
  std::array<uint64_t, kSignatureChecks.size()> signature_failures{};
};

class MountCounters {
 public:
  void CountRead() { Add(read_requests_, 1); }
  void CountReadBytes(size_t n) { Add(read_bytes_, n); }
  void CountWrite() { Add(write_requests_, 1); }
  void CountWrittenBytes(size_t n) { Add(written_bytes_, n); }
  void CountAuthFailure() { Add(auth_failures_, 1); }
  void CountDenied() { Add(denied_, 1); }
  void CountSignatureFailure(std::string_view check) {
    size_t i = 0;
    while (i + 1 < kSignatureChecks.size() && kSignatureChecks[i] != check) ++i;
    Add(signature_failures_[i], 1);
  }

  CounterValues Snapshot() const {
    CounterValues v;
    v.read_requests = Get(read_requests_);
    v.read_bytes = Get(read_bytes_);
    v.write_requests = Get(write_requests_);
    v.written_bytes = Get(written_bytes_);
    v.auth_failures = Get(auth_failures_);
    v.denied = Get(denied_);
    for (size_t i = 0; i < kSignatureChecks.size(); ++i) {
      v.signature_failures[i] = Get(signature_failures_[i]);
    }
    return v;
  }

 private:
  using Counter = std::atomic<uint64_t>;
  static void Add(Counter& c, uint64_t n) { c.fetch_add(n, std::memory_order_relaxed); }
  static uint64_t Get(const Counter& c) { return c.load(std::memory_order_relaxed); }

  // The read path's counters apart from the rest, so that readers on many threads do not
  // also bounce the cache line that writers and the gate update.
  alignas(64) Counter read_requests_{0};
  Counter read_bytes_{0};
  alignas(64) Counter write_requests_{0};
  Counter written_bytes_{0};
  alignas(64) Counter auth_failures_{0};
  Counter denied_{0};
  std::array<Counter, kSignatureChecks.size()> signature_failures_{};
};

}  // namespace modelvault::fs
