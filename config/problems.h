// Problems: every fault found in one input file, each as "FILE: line N: what", so that a
// checker can report them all at once instead of stopping at the first.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace modelvault::config {

class Problems {
 public:
  explicit Problems(std::string path) : path_(std::move(path)) {}

  // `line` counts from 1; 0 means the fault has no line (a missing key, an unreadable file).
  void Add(int line, const std::string& what);

  bool empty() const { return items_.empty(); }
  const std::string& path() const { return path_; }
  // In the order of their lines (those without a line first), each "FILE: line N: what".
  std::vector<std::string> Lines() const;
  // Ok if there are none, else InvalidArgument with every line, one per text line.
  Status ToStatus() const;

 private:
  struct Item {
    int line;
    std::string what;
  };
  std::string path_;
  std::vector<Item> items_;
};

}  // namespace modelvault::config
