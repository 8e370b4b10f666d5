// Readers for the fields of a YAML settings file (mount configs, policies). Each one checks
// a value's shape, stores it and returns true, or records a problem naming the key and its
// line and returns false; callers go on reading so that one pass finds every problem.
// Internal to config/: yaml-cpp types do not leave this layer.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/problems.h"

namespace modelvault::config {

// Reads `p.path()` (at most `max_size` bytes) as a single YAML document into `root`, or
// records why it cannot (the file cannot be read, its syntax is wrong) and returns false.
// More than one document is a problem too, but the first is still returned to be checked.
// An empty file is a null root.
bool ParseYamlFile(Problems& p, size_t max_size, YAML::Node* root);

// True for a scalar written as a string ('true', "15", !!str 4), which a boolean or number
// must not be.
bool IsQuoted(const YAML::Node& value);

// The 1-based line of a node or mark; 0 if yaml-cpp has none.
int LineOf(const YAML::Mark& mark);
inline int LineOf(const YAML::Node& node) { return LineOf(node.Mark()); }

// "a, b, c".
std::string Join(std::span<const std::string_view> words);
bool Contains(std::span<const std::string_view> words, std::string_view word);
// The word of `known` nearest to `word` if it is close enough to be a likely misspelling
// (or a different spelling of the same words), else "".
std::string Closest(std::string_view word, std::span<const std::string_view> known);

// The entry of mapping `map` called `name` (its key and value), or null nodes if absent.
std::pair<YAML::Node, YAML::Node> FindEntry(const YAML::Node& map, std::string_view name);
inline bool HasKey(const YAML::Node& map, std::string_view name) {
  return !FindEntry(map, name).first.IsNull();
}

bool ReadString(Problems& p, const YAML::Node& key, const YAML::Node& value, std::string* out);
// A string that must be an absolute path: the daemon's working directory is "/".
bool ReadPath(Problems& p, const YAML::Node& key, const YAML::Node& value, std::string* out);
// Booleans and numbers must be written plainly: a quoted "true" or "15" is refused.
bool ReadBool(Problems& p, const YAML::Node& key, const YAML::Node& value, bool* out);
// A whole number from `lo` to `hi`; `must` completes "\"KEY\" must be ...".
bool ReadInt(Problems& p, const YAML::Node& key, const YAML::Node& value, long lo, long hi,
             const std::string& must, long* out);
// Seconds, a non-negative number up to `hi`.
bool ReadSeconds(Problems& p, const YAML::Node& key, const YAML::Node& value, double hi,
                 double* out);
// A list of strings, each once; `paths`: each must also be an absolute path. Bad items are
// reported one by one and left out.
bool ReadStringList(Problems& p, const YAML::Node& key, const YAML::Node& value,
                    std::vector<std::string>* out, bool paths = false);

// Calls `read(key, value)` for each entry of mapping `map` whose key is in `known`, and
// reports unknown keys (with the nearest known one) and repeated keys. `where` says which
// mapping in messages (" in \"unlock\"", or "" for the top level), `noun` what a key is.
void ForEachEntry(Problems& p, const YAML::Node& map, std::span<const std::string_view> known,
                  const std::string& where,
                  const std::function<void(const YAML::Node&, const YAML::Node&)>& read,
                  const std::string& noun = "key");

}  // namespace modelvault::config
