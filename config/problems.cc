#include "config/problems.h"

#include <algorithm>

namespace modelvault::config {

void Problems::Add(int line, const std::string& what) { items_.push_back({line, what}); }

std::vector<std::string> Problems::Lines() const {
  std::vector<Item> sorted = items_;
  // Stable: several faults on one line keep the order they were found in.
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Item& a, const Item& b) { return a.line < b.line; });
  std::vector<std::string> out;
  for (const Item& item : sorted) {
    std::string where = item.line > 0 ? ": line " + std::to_string(item.line) : "";
    out.push_back(path_ + where + ": " + item.what);
  }
  return out;
}

Status Problems::ToStatus() const {
  if (items_.empty()) return Status::Ok();
  std::string message;
  for (const std::string& line : Lines()) message += (message.empty() ? "" : "\n") + line;
  return Status::InvalidArgument(message);
}

}  // namespace modelvault::config
