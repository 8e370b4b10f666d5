// The read-write lock of a store: an exclusive flock(2) on BACKING/modelvault.lock, held by
// the one daemon that serves the store read-write, released when it exits (or dies).
// Read-only mounts take no lock, so they can run beside it.
//
// Header edits (keyslot add/remove) take a second lock, an exclusive flock on the backing
// directory itself, so that two edits cannot lose each other's slot while a mount, which
// reads the header only at start, goes on serving.
#pragma once

#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace modelvault::volume {

// Busy, naming the store, if another process holds the lock.
Result<UniqueFd> LockStoreForWriting(const std::string& backing_dir);
// Waits (at most `timeout_ms`; then Busy) for the header-edit lock of the store.
Result<UniqueFd> LockHeaderForEditing(const std::string& backing_dir, int timeout_ms = 10000);
// Waits until no process holds the lock, or `timeout_ms` passes (Busy).
Status WaitForStoreUnlock(const std::string& backing_dir, int timeout_ms);

}  // namespace modelvault::volume
