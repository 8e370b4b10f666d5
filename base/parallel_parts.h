// RunInParts: spreads one request's independent parts over a small process-wide set of
// worker threads and the calling thread.
//
// Reading a large range of a file is CPU work (decryption, and for signed files a SHA-256
// per block) that splits cleanly by block; a single model load is one long sequential read,
// so without this it would use one core however many the host has.
//
// The caller runs every part that no worker has claimed yet, so it never waits for work it
// could do itself: a busy pool (or one whose workers did not survive a fork) costs
// parallelism, never progress.
#pragma once

#include <cstddef>
#include <functional>

#include "base/status.h"

namespace modelvault::base {

// Runs fn(0), ..., fn(parts - 1), at most ParallelWidth() of them at once, and returns once
// all have finished: the first failure in part order, or Ok.
Status RunInParts(size_t parts, const std::function<Status(size_t part)>& fn);

// How many parts can run at once: the worker threads plus the caller (the host's hardware
// threads, at least 1).
size_t ParallelWidth();

}  // namespace modelvault::base
