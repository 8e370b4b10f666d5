// DenialLimiter: the token bucket that keeps a flood of denied accesses (a process retrying
// a forbidden open in a loop) from filling the audit log. Up to `burst` denials pass at once,
// then `per_second` on average; the rest are counted, with the wall-clock times of the first
// and last, for one summary record.
//
// Time is passed in, so tests can drive it. Not thread-safe: AuditLog calls it under its
// own mutex.
#pragma once

#include <chrono>
#include <cstdint>

namespace modelvault::audit {

class DenialLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  using WallTime = std::chrono::system_clock::time_point;

  struct Suppressed {
    uint64_t count = 0;
    WallTime first{};
    WallTime last{};
  };

  // `per_second` >= 0 and `burst` >= 1 (AuditLog checks them); the bucket starts full.
  DenialLimiter(double per_second, int burst);

  // True if a denial at `now` may be written; otherwise counts it as suppressed at `wall`.
  bool Admit(Clock::time_point now, WallTime wall);
  // The denials suppressed since the last call (count 0 if none), and forgets them.
  Suppressed TakeSuppressed();

 private:
  double per_second_;
  double burst_;
  double tokens_;
  Clock::time_point last_refill_{};
  bool started_ = false;
  Suppressed suppressed_;
};

}  // namespace modelvault::audit
