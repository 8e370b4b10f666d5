// Turning the mount command into a background daemon that reports back to its parent.
#pragma once

#include <functional>
#include <string>

#include "base/status.h"

namespace modelvault::cli {

// Hardens the serving process: not dumpable (no core files, no ptrace by other users) and,
// where the process may lock memory, all its pages locked as they are touched, so that key
// schedules inside OpenSSL are never swapped out either.
void HardenDaemon();

// Runs `serve` in a child process detached from the terminal. `serve` gets a callback to
// call once the mount is ready; the parent waits for it and returns Ok, or returns the
// child's error if the child failed before that. The child never returns.
Status RunInBackground(const std::function<Status(const std::function<void()>& ready)>& serve);

}  // namespace modelvault::cli
