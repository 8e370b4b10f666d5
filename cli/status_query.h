// Asking a mount daemon for its status (the control attribute user.modelvault.status,
// fs/control.h), without hanging on a daemon that does not answer: the attribute is read in
// a child process that is killed if no answer comes within the timeout. A daemon that has
// died answers at once (ENOTCONN).
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"

namespace modelvault::cli {

// The status document of the modelvault mount at `mountpoint` (canonical). IOError saying
// why not: no answer in time, the daemon is gone, or the caller may not read it.
Result<nlohmann::json> QueryMountStatus(const std::string& mountpoint,
                                        std::chrono::seconds timeout);

}  // namespace modelvault::cli
