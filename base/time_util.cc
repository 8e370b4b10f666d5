#include "base/time_util.h"

namespace modelvault {

std::string Rfc3339Utc(std::time_t when) {
  std::tm tm{};
  gmtime_r(&when, &tm);
  char text[32];
  size_t n = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(text, n);
}

std::string NowRfc3339Utc() { return Rfc3339Utc(std::time(nullptr)); }

}  // namespace modelvault
