#include "audit/denial_limiter.h"

#include <algorithm>
#include <utility>

namespace modelvault::audit {

DenialLimiter::DenialLimiter(double per_second, int burst)
    : per_second_(per_second), burst_(burst), tokens_(burst) {}

bool DenialLimiter::Admit(Clock::time_point now, WallTime wall) {
  if (started_ && now > last_refill_) {
    std::chrono::duration<double> elapsed = now - last_refill_;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * per_second_);
  }
  // A clock that goes backwards (it cannot for steady_clock, but tests pass any time) only
  // delays the refill.
  if (!started_ || now > last_refill_) last_refill_ = now;
  started_ = true;
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return true;
  }
  if (suppressed_.count == 0) suppressed_.first = wall;
  suppressed_.last = wall;
  ++suppressed_.count;
  return false;
}

DenialLimiter::Suppressed DenialLimiter::TakeSuppressed() {
  return std::exchange(suppressed_, Suppressed{});
}

}  // namespace modelvault::audit
