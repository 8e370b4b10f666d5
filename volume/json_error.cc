#include "volume/json_error.h"

#include <cstdio>

namespace modelvault::volume::internal {

Status JsonSyntaxError(const nlohmann::json::parse_error& e, const std::string& path) {
  std::string what = e.what();
  int line = 0;
  size_t at = what.find("at line ");
  if (at != std::string::npos) std::sscanf(what.c_str() + at, "at line %d", &line);
  size_t colon = what.find(": ", at == std::string::npos ? 0 : at);
  std::string detail = colon == std::string::npos ? what : what.substr(colon + 2);
  std::string where = line > 0 ? ": line " + std::to_string(line) + ": " : ": ";
  return Status::Corruption(path + where + detail);
}

}  // namespace modelvault::volume::internal
