// LogFile: the audit log's file, appended to by several processes at once (the CLI that
// unlocks, the mount daemon, keyslot commands). Each append takes an exclusive flock(2) on
// the file, reads only the file's tail to find the last record (its seq and line hash),
// lets the caller build the next line from that, appends it with O_APPEND and fsyncs.
//
// A tail that is not a complete line (a crash mid-write) does not block later appends: the
// next record starts on a new line and chains to the last record before the torn text.
//
// flock locks belong to the open file description, so two threads sharing one LogFile, or a
// parent and a child that inherited its descriptor, do not exclude each other: callers
// serialize their own threads (AuditLog holds a mutex), and a forked process opens the file
// again (the descriptor is close-on-exec, not close-on-fork). Thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "audit/record.h"
#include "base/result.h"
#include "base/unique_fd.h"

namespace modelvault::audit {

// Where the next record continues the chain.
struct ChainTail {
  uint64_t last_seq = 0;             // 0 when the file holds no record
  std::string prev_hash{kZeroHash};  // LineHash of the last record's line
  bool needs_newline = false;        // the file does not end with '\n'
};

class LogFile {
 public:
  // Opens `path` for appending, creating it with mode 0600. Errors name the path.
  static Result<LogFile> Open(const std::string& path);

  // Under the lock: builds the line (without newline) from the tail with `make_line` and
  // appends it, then fsyncs. Errors from `make_line` are returned as they are.
  Status Append(const std::function<Result<std::string>(const ChainTail&)>& make_line);

  const std::string& path() const { return path_; }

 private:
  LogFile(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

// Reads the chain tail of an open log (exported for tests). Scans back at most about 1 MiB
// for a record; Corruption, naming `path`, if the file has text but no record there.
Result<ChainTail> ReadChainTail(int fd, const std::string& path);

}  // namespace modelvault::audit
