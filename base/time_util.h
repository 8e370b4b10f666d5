// The time as the project writes it in headers, keyslots and manifests: RFC 3339 in UTC,
// to the second ("2026-11-26T00:30:00Z"). Thread-safe.
#pragma once

#include <ctime>
#include <string>

namespace modelvault {

std::string NowRfc3339Utc();
std::string Rfc3339Utc(std::time_t when);

}  // namespace modelvault
