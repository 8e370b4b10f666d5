// The read-write lock of a store: an exclusive flock(2) on BACKING/modelvault.lock, held by
// the one daemon that serves the store read-write, released when it exits (or dies).
// Read-only mounts take no lock, so they can run beside it.
#pragma once

#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace modelvault::volume {

// Busy, naming the store, if another process holds the lock.
Result<UniqueFd> LockStoreForWriting(const std::string& backing_dir);
// Waits until no process holds the lock, or `timeout_ms` passes (Busy).
Status WaitForStoreUnlock(const std::string& backing_dir, int timeout_ms);

}  // namespace modelvault::volume
