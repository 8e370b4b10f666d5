// Compares two directory trees entry by entry, for the differential test: the same names,
// and for each entry the same type, mode, owner, link count, and for files the same size
// and bytes, for symlinks the same size and target. Directory sizes and all timestamps are
// left out (they legitimately differ between filesystems). Thread-safe; never follows
// symlinks.
#pragma once

#include <string>

namespace modelvault::fs::test {

// "" if the trees under `mount_root` and `plain_root` match, else a description of the
// first few differences. Only top-level names starting with `top_prefix` are compared.
std::string CompareTrees(const std::string& mount_root, const std::string& plain_root,
                         const std::string& top_prefix = "");

// Compares the attributes of one entry the same way ("" if they match). `what` names the
// entry in the message; `follow` selects stat() over lstat().
std::string CompareEntries(const std::string& mount_path, const std::string& plain_path,
                           const std::string& what, bool follow = false);

}  // namespace modelvault::fs::test
