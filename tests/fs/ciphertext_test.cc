// What the backing directory gives away. After plaintext names, contents, symlink targets
// and xattrs carrying a marker string are written through the mount and the store is
// unmounted, no byte of the backing directory (names, contents, link targets, xattr names
// and values) may contain the marker, nor its hex or base64 spellings, nor the key. And
// the backing tree must mirror the plaintext tree: one backing dir per dir, one backing
// file per file, with sizes that follow docs/FORMAT.md's content layout.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace modelvault::fs::test {
namespace {

constexpr char kMarker[] = "Mv7SecretMarker-Qz";

std::string Hex(std::string_view in, const char* digits) {
  std::string out;
  for (const char c : in) {
    out += digits[(static_cast<uint8_t>(c) >> 4) & 15];
    out += digits[static_cast<uint8_t>(c) & 15];
  }
  return out;
}

std::string Base64(std::string_view in, bool url) {
  const char* table = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                          : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<uint8_t>(in[i + 2]);
    const size_t n = std::min<size_t>(3, in.size() - i);
    for (size_t k = 0; k <= n; ++k) out += table[(v >> (18 - 6 * k)) & 63];
  }
  return out;
}

// The spellings of `secret` that must not show up: raw, hex, and base64 (both alphabets)
// at every alignment, trimmed to the characters that depend on `secret` alone.
std::vector<std::pair<std::string, std::string>> Needles(std::string_view secret) {
  std::vector<std::pair<std::string, std::string>> needles;
  needles.emplace_back("raw", std::string(secret));
  needles.emplace_back("hex", Hex(secret, "0123456789abcdef"));
  needles.emplace_back("HEX", Hex(secret, "0123456789ABCDEF"));
  for (const bool url : {false, true}) {
    for (int shift = 0; shift < 3; ++shift) {
      const std::string enc =
          Base64(std::string(static_cast<size_t>(shift), 'x') + std::string(secret), url);
      needles.emplace_back(url ? "base64url" : "base64", enc.substr(4, enc.size() - 8));
    }
  }
  return needles;
}

struct Finding {
  std::string where;
  std::string needle;
};

class BackingScanner {
 public:
  explicit BackingScanner(std::vector<std::pair<std::string, std::string>> needles)
      : needles_(std::move(needles)) {}

  void ScanTree(const std::string& dir) {
    for (const std::string& name : ListDir(dir)) {
      const std::string path = dir + "/" + name;
      Check(name, "name of " + path);
      const auto st = Lstat(path);
      if (!st) continue;
      ++entries_;
      if (S_ISREG(st->st_mode)) {
        const auto content = ReadFile(path);
        EXPECT_TRUE(content.has_value()) << path;
        if (content) Check(*content, "content of " + path);
      } else if (S_ISLNK(st->st_mode)) {
        char target[8192];
        const ssize_t n = ::readlink(path.c_str(), target, sizeof target);
        if (n > 0) Check(std::string(target, static_cast<size_t>(n)), "link target " + path);
      }
      ScanXattrs(path);
      if (S_ISDIR(st->st_mode)) ScanTree(path);
    }
  }
  const std::vector<Finding>& findings() const { return findings_; }
  size_t entries() const { return entries_; }

 private:
  void ScanXattrs(const std::string& path) {
    char names[65536];
    const ssize_t len = ::llistxattr(path.c_str(), names, sizeof names);
    for (ssize_t i = 0; i < len; i += static_cast<ssize_t>(std::strlen(names + i)) + 1) {
      const std::string name = names + i;
      Check(name, "xattr name " + name + " of " + path);
      std::string value(65536, '\0');
      const ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
      if (n >= 0) Check(value.substr(0, static_cast<size_t>(n)), "xattr " + name + " of " + path);
    }
  }
  void Check(std::string_view haystack, const std::string& where) {
    for (const auto& [kind, needle] : needles_) {
      if (haystack.find(needle) != std::string_view::npos) findings_.push_back({where, kind});
    }
  }

  std::vector<std::pair<std::string, std::string>> needles_;
  std::vector<Finding> findings_;
  size_t entries_ = 0;
};

class CiphertextTest : public MountFixture {
 protected:
  Options GetOptions() const override { return {.block_size = 4096, .mount = true}; }
};

TEST_F(CiphertextTest, MarkerNeverReachesTheBackingDirectory) {
  const std::string m = kMarker;
  std::string repeated;  // the marker at every alignment against 4096-byte blocks and pages
  for (int i = 0; repeated.size() < 100000; ++i) repeated += m + std::string(i % 7, ' ');
  MV_ASSERT_SYS(::mkdir(M("dir-" + m).c_str(), 0755));
  const std::string dir = "dir-" + m + "/";
  ASSERT_EQ(WriteFile(M(dir + "file-" + m + ".txt"), repeated), 0);
  ASSERT_EQ(WriteFile(M(m), m), 0);
  std::string long_name = "long-" + m;
  long_name.resize(250, 'L');
  ASSERT_EQ(WriteFile(M(dir + long_name), m + "\n"), 0);
  {
    Fd fd(::open(M("sparse-" + m).c_str(), O_WRONLY | O_CREAT, 0644));
    MV_ASSERT_SYS(fd.get());
    ASSERT_EQ(PwriteAll(fd.get(), m, 20000), 0);
  }
  MV_ASSERT_SYS(::symlink(("target/" + m + "/x").c_str(), M("link-" + m).c_str()));
  MV_ASSERT_SYS(::link(M(m).c_str(), M(dir + "hard-" + m).c_str()));
  ASSERT_EQ(WriteFile(M("renamed-" + m + "-from"), m), 0);
  MV_ASSERT_SYS(::rename(M("renamed-" + m + "-from").c_str(), M(dir + "renamed-" + m).c_str()));
  const std::string value = "value-" + m;
  MV_ASSERT_SYS(::setxattr(M(m).c_str(), ("user." + m).c_str(), value.data(), value.size(), 0));
  MV_ASSERT_SYS(::setxattr(M(dir).c_str(), "user.plain", value.data(), value.size(), 0));
  {
    // The scanner itself must see the marker everywhere in the plaintext view.
    BackingScanner plain_view(Needles(m));
    plain_view.ScanTree(M(""));
    std::set<std::string> kinds;
    for (const Finding& f : plain_view.findings())
      kinds.insert(f.where.substr(0, f.where.find(' ')));
    EXPECT_EQ(kinds, (std::set<std::string>{"content", "link", "name", "xattr"}));
  }
  ASSERT_TRUE(Unmount());

  auto needles = Needles(m);
  const auto key = ReadFile(keyfile());
  ASSERT_TRUE(key.has_value());
  for (auto& [kind, needle] : Needles(*key)) needles.emplace_back("key " + kind, needle);
  BackingScanner scanner(std::move(needles));
  scanner.ScanTree(backing());
  EXPECT_GE(scanner.entries(), 10u) << "the backing directory looks too small";
  for (const Finding& f : scanner.findings()) {
    ADD_FAILURE() << "plaintext leaked (" << f.needle << ") in " << f.where;
  }
}

// The plaintext size a backing file of `size` bytes holds under docs/FORMAT.md's layout
// (32-byte header, blocks of nonce 12 + data + tag 16), or -1 if no layout fits.
int64_t PlainSizeOf(uint64_t size, uint64_t bs) {
  if (size == 0 || size == 32) return 0;
  if (size < 32) return -1;
  const uint64_t stored = bs + 28;
  const uint64_t full = (size - 32) / stored;
  const uint64_t rest = (size - 32) % stored;
  if (rest != 0 && rest <= 28) return -1;
  return static_cast<int64_t>(full * bs + (rest == 0 ? 0 : rest - 28));
}

// A canonical description of the tree's shape: "D(...)" for directories, "F<size>" for
// files, "L" for symlinks, children sorted. Backing trees skip the store's own files and
// describe files by the plaintext size their backing size implies.
std::string Shape(const std::string& dir, bool backing, uint64_t bs) {
  std::vector<std::string> children;
  for (const std::string& name : ListDir(dir)) {
    if (backing && (name == ".mvdir" || name.starts_with("modelvault.") ||
                    (name.starts_with(".L") && name.ends_with(".name")))) {
      continue;
    }
    const auto st = Lstat(dir + "/" + name);
    if (!st) continue;
    if (S_ISDIR(st->st_mode)) {
      children.push_back("D(" + Shape(dir + "/" + name, backing, bs) + ")");
    } else if (S_ISREG(st->st_mode)) {
      const int64_t size = backing ? PlainSizeOf(st->st_size, bs) : st->st_size;
      children.push_back("F" + std::to_string(size));
    } else {
      children.push_back(S_ISLNK(st->st_mode) ? "L" : "other");
    }
  }
  std::sort(children.begin(), children.end());
  std::string out;
  for (const std::string& c : children) out += c + ",";
  return out;
}

// Checks the naming rules of every backing directory below `dir`.
void CheckBackingNames(const std::string& dir, bool is_root) {
  static const std::regex kSealed("[A-Za-z0-9_-]+");
  static const std::regex kLong("\\.L[A-Za-z0-9_-]+");
  const std::vector<std::string> names = ListDir(dir);
  const std::set<std::string> set(names.begin(), names.end());
  EXPECT_TRUE(set.contains(".mvdir")) << dir << " has no .mvdir";
  if (is_root) {
    EXPECT_TRUE(set.contains("modelvault.json"));
    EXPECT_TRUE(set.contains("modelvault.lock"));
  }
  for (const std::string& name : names) {
    EXPECT_LE(name.size(), 255u) << name;
    if (name == ".mvdir" || (is_root && name.starts_with("modelvault."))) continue;
    if (std::regex_match(name, kSealed)) {
    } else if (std::regex_match(name, kLong)) {
      EXPECT_TRUE(set.contains(name + ".name")) << dir << "/" << name << " has no sidecar";
    } else if (name.ends_with(".name") &&
               std::regex_match(name.substr(0, name.size() - 5), kLong)) {
      EXPECT_TRUE(set.contains(name.substr(0, name.size() - 5))) << "orphan sidecar " << name;
    } else {
      ADD_FAILURE() << "backing name outside the grammar: " << dir << "/" << name;
    }
    const auto st = Lstat(dir + "/" + name);
    if (st && S_ISDIR(st->st_mode)) CheckBackingNames(dir + "/" + name, false);
  }
}

TEST_F(CiphertextTest, BackingTreeMirrorsThePlaintextTree) {
  const uint64_t bs = block_size();
  MV_ASSERT_SYS(::mkdir(M("d1").c_str(), 0755));
  MV_ASSERT_SYS(::mkdir(M("d1/sub").c_str(), 0755));
  MV_ASSERT_SYS(::mkdir(M("d1/sub2").c_str(), 0755));
  MV_ASSERT_SYS(::mkdir(M("d2").c_str(), 0755));
  MV_ASSERT_SYS(::mkdir(M(std::string(255, 'D')).c_str(), 0755));
  const std::map<std::string, size_t> files = {
      {"f0", 0},
      {"f1", 1},
      {"f2", 2 * bs + 5},
      {"d1/g", bs},
      {"d1/sub2/h1", 100},
      {"d1/sub2/h2", 7},
      {"d2/" + std::string(255, 'n'), 3 * bs},
      {std::string(255, 'D') + "/" + std::string(200, 'x'), 17}};
  for (const auto& [path, size] : files) {
    ASSERT_EQ(WriteFile(M(path), PatternBytes(size, size)), 0) << path;
  }
  MV_ASSERT_SYS(::symlink("f1", M("sym").c_str()));
  MV_ASSERT_SYS(::symlink(std::string(300, 't').c_str(), M("d2/sym").c_str()));
  const std::string plain_shape = Shape(M(""), false, bs);
  ASSERT_TRUE(Unmount());
  EXPECT_EQ(Shape(B(""), true, bs), plain_shape);
  CheckBackingNames(B(""), true);
  // The 255-byte directory name in the root needs a long-name entry (and its sidecar).
  size_t long_entries = 0;
  for (const std::string& name : ListDir(B(""))) {
    long_entries += name.starts_with(".L") && !name.ends_with(".name") ? 1 : 0;
  }
  EXPECT_EQ(long_entries, 1u);
}

}  // namespace
}  // namespace modelvault::fs::test
