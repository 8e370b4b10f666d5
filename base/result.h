// Result<T>: either a value or a non-ok Status. The value is only reachable after checking
// ok(); reaching for it otherwise is a programming error and aborts.
#pragma once

#include <cstdlib>
#include <optional>
#include <utility>

#include "base/status.h"

namespace modelvault {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) status_ = Status::Internal("Result built from an ok Status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { return Checked(); }
  const T& value() const& { return const_cast<Result*>(this)->Checked(); }
  T&& value() && { return std::move(Checked()); }
  T* operator->() { return &Checked(); }
  const T* operator->() const { return &const_cast<Result*>(this)->Checked(); }
  T& operator*() & { return Checked(); }
  const T& operator*() const& { return const_cast<Result*>(this)->Checked(); }

 private:
  T& Checked() {
    if (!value_) std::abort();
    return *value_;
  }
  std::optional<T> value_;
  Status status_;
};

}  // namespace modelvault

#define MV_CONCAT_INNER_(a, b) a##b
#define MV_CONCAT_(a, b) MV_CONCAT_INNER_(a, b)
// Declares `lhs` from a Result-returning `expr`, or returns its Status from the enclosing
// function. Usage: MV_ASSIGN_OR_RETURN(auto fd, OpenFile(path));
#define MV_ASSIGN_OR_RETURN(lhs, expr)                                                          \
  auto MV_CONCAT_(mv_result_, __LINE__) = (expr);                                               \
  if (!MV_CONCAT_(mv_result_, __LINE__).ok()) return MV_CONCAT_(mv_result_, __LINE__).status(); \
  lhs = std::move(MV_CONCAT_(mv_result_, __LINE__)).value()
