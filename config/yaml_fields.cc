#include "config/yaml_fields.h"

#include <algorithm>
#include <set>

#include "base/file_util.h"

namespace modelvault::config {
namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string Quoted(const YAML::Node& key) { return "\"" + key.Scalar() + "\""; }

// The tag yaml-cpp gives a quoted scalar, and the one of an explicit !!str.
constexpr char kQuotedTag[] = "!";
constexpr char kStringTag[] = "tag:yaml.org,2002:str";

// ", not a string" if `value` is a quoted scalar, else "".
std::string NotAString(const YAML::Node& value) { return IsQuoted(value) ? ", not a string" : ""; }

}  // namespace

bool ParseYamlFile(Problems& p, size_t max_size, YAML::Node* root) {
  auto bytes = ReadFileBytes(p.path(), max_size);
  if (!bytes.ok()) {
    // The message names the file already; Problems puts it in front of every line.
    std::string message = bytes.status().message();
    const std::string prefix = p.path() + ": ";
    if (message.starts_with(prefix)) message.erase(0, prefix.size());
    p.Add(0, message);
    return false;
  }
  std::vector<YAML::Node> documents;
  // yaml-cpp reports malformed input by throwing; nothing thrown may leave config/.
  try {
    documents = YAML::LoadAll(std::string(bytes->begin(), bytes->end()));
  } catch (const YAML::Exception& e) {
    p.Add(LineOf(e.mark), e.msg);
    return false;
  }
  // A second document after "---" would otherwise be ignored without a word; the first is
  // still read, so that its own problems are reported too.
  if (documents.size() > 1) p.Add(LineOf(documents[1]), "only one YAML document is allowed");
  *root = documents.empty() ? YAML::Node() : documents[0];
  return true;
}

bool IsQuoted(const YAML::Node& value) {
  return value.IsScalar() && (value.Tag() == kQuotedTag || value.Tag() == kStringTag);
}

int LineOf(const YAML::Mark& mark) {
  // yaml-cpp counts lines from 0 and has no mark at all for some nodes.
  return mark.is_null() || mark.line < 0 ? 0 : mark.line + 1;
}

std::string Join(std::span<const std::string_view> words) {
  std::string out;
  for (std::string_view w : words) out += (out.empty() ? "" : ", ") + std::string(w);
  return out;
}

bool Contains(std::span<const std::string_view> words, std::string_view word) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

std::string Closest(std::string_view word, std::span<const std::string_view> known) {
  std::string best;
  size_t best_distance = std::max<size_t>(1, word.size() / 3) + 1;
  for (std::string_view candidate : known) {
    size_t d = EditDistance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::pair<YAML::Node, YAML::Node> FindEntry(const YAML::Node& map, std::string_view name) {
  if (map.IsMap()) {
    for (const auto& entry : map) {
      if (entry.first.IsScalar() && entry.first.Scalar() == name) {
        return {entry.first, entry.second};
      }
    }
  }
  return {YAML::Node(), YAML::Node()};
}

bool ReadString(Problems& p, const YAML::Node& key, const YAML::Node& value, std::string* out) {
  if (!value.IsScalar()) {
    p.Add(LineOf(key), Quoted(key) + " must be a string");
    return false;
  }
  *out = value.Scalar();
  return true;
}

bool ReadPath(Problems& p, const YAML::Node& key, const YAML::Node& value, std::string* out) {
  if (!ReadString(p, key, value, out)) return false;
  if (!out->starts_with("/")) {
    p.Add(LineOf(value), Quoted(key) + " must be an absolute path, not \"" + *out + "\"");
    out->clear();
    return false;
  }
  return true;
}

bool ReadBool(Problems& p, const YAML::Node& key, const YAML::Node& value, bool* out) {
  if (!value.IsScalar() || IsQuoted(value) || !YAML::convert<bool>::decode(value, *out)) {
    p.Add(LineOf(key), Quoted(key) + " must be true or false" + NotAString(value));
    return false;
  }
  return true;
}

bool ReadInt(Problems& p, const YAML::Node& key, const YAML::Node& value, long lo, long hi,
             const std::string& must, long* out) {
  long n = 0;
  if (!value.IsScalar() || IsQuoted(value) || !YAML::convert<long>::decode(value, n) || n < lo ||
      n > hi) {
    p.Add(LineOf(key), Quoted(key) + " must be " + must + NotAString(value));
    return false;
  }
  *out = n;
  return true;
}

bool ReadSeconds(Problems& p, const YAML::Node& key, const YAML::Node& value, double hi,
                 double* out) {
  double n = 0;
  if (!value.IsScalar() || IsQuoted(value) || !YAML::convert<double>::decode(value, n) ||
      !(n >= 0) || n > hi) {
    p.Add(LineOf(key), Quoted(key) + " must be a number of seconds from 0 to " +
                           std::to_string(static_cast<long>(hi)) + NotAString(value));
    return false;
  }
  *out = n;
  return true;
}

bool ReadStringList(Problems& p, const YAML::Node& key, const YAML::Node& value,
                    std::vector<std::string>* out, bool paths) {
  if (!value.IsSequence()) {
    p.Add(LineOf(key), Quoted(key) + " must be a list of strings");
    return false;
  }
  out->clear();
  bool ok = true;
  std::set<std::string> seen;
  for (const YAML::Node& item : value) {
    if (!item.IsScalar()) {
      p.Add(LineOf(item), Quoted(key) + " must be a list of strings");
      ok = false;
    } else if (paths && !item.Scalar().starts_with("/")) {
      p.Add(LineOf(item), Quoted(key) + " must hold absolute paths, not \"" + item.Scalar() + "\"");
      ok = false;
    } else if (!seen.insert(item.Scalar()).second) {
      p.Add(LineOf(item), "\"" + item.Scalar() + "\" appears twice in " + Quoted(key));
      ok = false;
    } else {
      out->push_back(item.Scalar());
    }
  }
  return ok;
}

void ForEachEntry(Problems& p, const YAML::Node& map, std::span<const std::string_view> known,
                  const std::string& where,
                  const std::function<void(const YAML::Node&, const YAML::Node&)>& read,
                  const std::string& noun) {
  std::set<std::string> seen;
  for (const auto& entry : map) {
    const YAML::Node& key = entry.first;
    std::string name = key.IsScalar() ? key.Scalar() : std::string();
    if (!key.IsScalar() || !Contains(known, name)) {
      std::string nearest = Closest(name, known);
      p.Add(LineOf(key), "unknown " + noun + " \"" + name + "\"" + where +
                             (nearest.empty() ? " (known: " + Join(known) + ")"
                                              : " (did you mean \"" + nearest + "\"?)"));
      continue;
    }
    if (!seen.insert(name).second) {
      p.Add(LineOf(key), "duplicate " + noun + " \"" + name + "\"" + where);
      continue;
    }
    read(key, entry.second);
  }
}

}  // namespace modelvault::config
