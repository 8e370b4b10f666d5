// The one way the volume layer reports a JSON file it cannot parse (the header, manifests).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"

namespace modelvault::volume::internal {

// Turns nlohmann's "[json.exception.parse_error.101] parse error at line 3, column 5: what"
// into Corruption "PATH: line 3: what".
Status JsonSyntaxError(const nlohmann::json::parse_error& e, const std::string& path);

}  // namespace modelvault::volume::internal
