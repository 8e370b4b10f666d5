// Status: codes, the errno each one maps to, FromErrno, Annotate and MV_RETURN_IF_ERROR.
#include "base/status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace modelvault {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status st;
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(st.code(), Code::kOk);
  EXPECT_EQ(st.ToErrno(), 0);
  EXPECT_EQ(st.ToString(), "ok");
  EXPECT_TRUE(Status::Ok().ok());
}

struct ErrnoCase {
  Status status;
  Code code;
  int err;
};

TEST(StatusTest, EachCodeMapsToItsErrno) {
  const ErrnoCase cases[] = {
      {Status::InvalidArgument("m"), Code::kInvalidArgument, EINVAL},
      {Status::NotFound("m"), Code::kNotFound, ENOENT},
      {Status::AlreadyExists("m"), Code::kAlreadyExists, EEXIST},
      {Status::Corruption("m"), Code::kCorruption, EIO},
      {Status::IOError("m"), Code::kIOError, EIO},
      {Status::PermissionDenied("m"), Code::kPermissionDenied, EACCES},
      {Status::Unsupported("m"), Code::kUnsupported, EOPNOTSUPP},
      {Status::Busy("m"), Code::kBusy, EBUSY},
      {Status::Internal("m"), Code::kInternal, EIO},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.code));
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.ToErrno(), c.err);
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(c.status.ToString(), "m");
  }
}

TEST(StatusTest, FromErrnoKeepsTheErrnoAndNamesTheContext) {
  Status st = Status::FromErrno(ENOSPC, "writing /vault/x");
  EXPECT_EQ(st.code(), Code::kIOError);
  EXPECT_EQ(st.ToErrno(), ENOSPC);
  EXPECT_EQ(st.message(), std::string("writing /vault/x: ") + std::strerror(ENOSPC));
  // Errors that are not I/O in spirit still travel as IOError with their own errno.
  EXPECT_EQ(Status::FromErrno(EACCES, "x").ToErrno(), EACCES);
  EXPECT_EQ(Status::FromErrno(EEXIST, "x").ToErrno(), EEXIST);
}

TEST(StatusTest, FromErrnoZeroStillReportsAnError) {
  Status st = Status::FromErrno(0, "odd");
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.ToErrno(), EIO);
}

TEST(StatusTest, AnnotatePrefixesAndKeepsCodeAndErrno) {
  Status st = Status::FromErrno(EROFS, "write").Annotate("saving header");
  EXPECT_EQ(st.code(), Code::kIOError);
  EXPECT_EQ(st.ToErrno(), EROFS);
  EXPECT_EQ(st.message(), std::string("saving header: write: ") + std::strerror(EROFS));

  Status c = Status::Corruption("bad tag").Annotate("file 7").Annotate("opening a");
  EXPECT_EQ(c.code(), Code::kCorruption);
  EXPECT_EQ(c.message(), "opening a: file 7: bad tag");
}

TEST(StatusTest, AnnotateOnOkIsOk) {
  Status st = Status::Ok().Annotate("context");
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(st.message(), "");
}

TEST(StatusTest, CopiesAndMovesKeepEverything) {
  Status a = Status::FromErrno(EPERM, "x");
  Status b = a;
  Status c = std::move(a);
  EXPECT_EQ(b.ToErrno(), EPERM);
  EXPECT_EQ(c.ToErrno(), EPERM);
  EXPECT_EQ(b.message(), c.message());
}

Status FailIf(bool fail, int* reached) {
  MV_RETURN_IF_ERROR(fail ? Status::Busy("held") : Status::Ok());
  ++*reached;
  return Status::Ok();
}

TEST(StatusTest, ReturnIfErrorReturnsEarlyOnlyOnError) {
  int reached = 0;
  EXPECT_TRUE(FailIf(false, &reached).ok());
  EXPECT_EQ(reached, 1);
  Status st = FailIf(true, &reached);
  EXPECT_EQ(st.code(), Code::kBusy);
  EXPECT_EQ(st.message(), "held");
  EXPECT_EQ(reached, 1);
}

}  // namespace
}  // namespace modelvault
