// Status: the outcome of an operation that can fail, with a code that keeps corruption
// (tampered or malformed data) apart from I/O errors and permission problems.
//
// Status and Result<T> are the only error channel between layers; no exception crosses a
// layer boundary. A Status is cheap to move and thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace modelvault {

enum class Code {
  kOk,
  kInvalidArgument,   // the caller asked for something malformed
  kNotFound,          // a named file, key or slot does not exist
  kAlreadyExists,     // creation refused because the target exists
  kCorruption,        // data failed authentication or does not parse
  kIOError,           // the operating system reported an error (see Errno())
  kPermissionDenied,  // wrong key, or the caller is not allowed
  kUnsupported,       // a valid request this build or platform cannot serve
  kBusy,              // the resource is held by someone else
  kInternal,          // a broken invariant inside modelvault
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, 0, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {Code::kNotFound, 0, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {Code::kAlreadyExists, 0, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, 0, std::move(msg)}; }
  static Status PermissionDenied(std::string msg) {
    return {Code::kPermissionDenied, 0, std::move(msg)};
  }
  static Status Unsupported(std::string msg) { return {Code::kUnsupported, 0, std::move(msg)}; }
  static Status Busy(std::string msg) { return {Code::kBusy, 0, std::move(msg)}; }
  static Status Internal(std::string msg) { return {Code::kInternal, 0, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::kIOError, 0, std::move(msg)}; }
  // An operating-system error; `context` names what was being done and to which file.
  static Status FromErrno(int err, std::string_view context);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  // The errno to hand to the kernel or a POSIX caller: the original errno for I/O errors,
  // EIO for corruption, EACCES for permission problems, and so on.
  int ToErrno() const;
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // Prefixes the message with more context ("opening X: " + message), keeping code and errno.
  Status Annotate(std::string_view context) const;

 private:
  Status(Code code, int err, std::string msg)
      : code_(code), errno_(err), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  int errno_ = 0;
  std::string message_;
};

}  // namespace modelvault

// Returns early from the enclosing function if `expr` yields a non-ok Status.
#define MV_RETURN_IF_ERROR(expr)              \
  do {                                        \
    ::modelvault::Status mv_status_ = (expr); \
    if (!mv_status_.ok()) return mv_status_;  \
  } while (0)
