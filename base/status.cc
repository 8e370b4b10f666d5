#include "base/status.h"

#include <cerrno>
#include <cstring>

namespace modelvault {

Status Status::FromErrno(int err, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += std::strerror(err);
  return Status(Code::kIOError, err, std::move(msg));
}

int Status::ToErrno() const {
  switch (code_) {
    case Code::kOk:
      return 0;
    case Code::kInvalidArgument:
      return EINVAL;
    case Code::kNotFound:
      return ENOENT;
    case Code::kAlreadyExists:
      return EEXIST;
    case Code::kCorruption:
      return EIO;
    case Code::kIOError:
      return errno_ != 0 ? errno_ : EIO;
    case Code::kPermissionDenied:
      return EACCES;
    case Code::kUnsupported:
      return EOPNOTSUPP;
    case Code::kBusy:
      return EBUSY;
    case Code::kInternal:
      return EIO;
  }
  return EIO;
}

std::string Status::ToString() const { return ok() ? std::string("ok") : message_; }

Status Status::Annotate(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += message_;
  return Status(code_, errno_, std::move(msg));
}

}  // namespace modelvault
