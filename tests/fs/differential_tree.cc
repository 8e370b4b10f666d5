#include "tests/fs/differential_tree.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <vector>

#include "tests/fs/fs_test_util.h"

namespace modelvault::fs::test {
namespace {

constexpr int kMaxReported = 5;

std::string ReadLinkOf(const std::string& path) {
  char buf[8192];
  const ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  if (n < 0) return "<readlink: " + ErrnoName(errno) + ">";
  return std::string(buf, static_cast<size_t>(n));
}

std::string DescribeStat(const struct stat& st) {
  std::ostringstream s;
  s << "mode=0" << std::oct << st.st_mode << std::dec << " uid=" << st.st_uid
    << " gid=" << st.st_gid << " nlink=" << st.st_nlink << " size=" << st.st_size;
  return s.str();
}

class TreeComparer {
 public:
  explicit TreeComparer(std::string top_prefix) : top_prefix_(std::move(top_prefix)) {}
  void Compare(const std::string& m, const std::string& p, const std::string& rel) {
    int m_err = 0, p_err = 0;
    std::vector<std::string> m_names = ListDir(m, &m_err);
    std::vector<std::string> p_names = ListDir(p, &p_err);
    if (m_err != p_err) {
      Report(rel + ": listing: mount " + ErrnoName(m_err) + ", plain " + ErrnoName(p_err));
    }
    if (rel.empty()) {
      const auto foreign = [&](const std::string& n) { return !n.starts_with(top_prefix_); };
      std::erase_if(m_names, foreign);
      std::erase_if(p_names, foreign);
    }
    std::sort(m_names.begin(), m_names.end());
    std::sort(p_names.begin(), p_names.end());
    std::vector<std::string> only_m, only_p, both;
    std::set_difference(m_names.begin(), m_names.end(), p_names.begin(), p_names.end(),
                        std::back_inserter(only_m));
    std::set_difference(p_names.begin(), p_names.end(), m_names.begin(), m_names.end(),
                        std::back_inserter(only_p));
    std::set_intersection(m_names.begin(), m_names.end(), p_names.begin(), p_names.end(),
                          std::back_inserter(both));
    for (const std::string& n : only_m) Report(Join(rel, n) + ": only in the mount");
    for (const std::string& n : only_p) Report(Join(rel, n) + ": missing from the mount");
    for (const std::string& name : both) {
      const std::string m_path = m + "/" + name;
      const std::string p_path = p + "/" + name;
      const std::string diff = CompareEntries(m_path, p_path, Join(rel, name));
      if (!diff.empty()) {
        Report(diff);
        continue;
      }
      const auto st = Lstat(p_path);
      if (st && S_ISDIR(st->st_mode)) Compare(m_path, p_path, Join(rel, name));
    }
  }
  std::string result() const { return out_.str(); }

 private:
  static std::string Join(const std::string& rel, const std::string& name) {
    return rel.empty() ? name : rel + "/" + name;
  }
  void Report(const std::string& what) {
    if (++reported_ <= kMaxReported) out_ << "  " << what << "\n";
  }
  std::string top_prefix_;
  std::ostringstream out_;
  int reported_ = 0;
};

}  // namespace

std::string CompareEntries(const std::string& mount_path, const std::string& plain_path,
                           const std::string& what, bool follow) {
  struct stat m {
  }, p{};
  const int m_rc = follow ? ::stat(mount_path.c_str(), &m) : ::lstat(mount_path.c_str(), &m);
  const int m_err = m_rc == 0 ? 0 : errno;
  const int p_rc = follow ? ::stat(plain_path.c_str(), &p) : ::lstat(plain_path.c_str(), &p);
  const int p_err = p_rc == 0 ? 0 : errno;
  if (m_rc != p_rc || m_err != p_err) {
    return what + ": stat: mount " + ErrnoName(m_err) + ", plain " + ErrnoName(p_err);
  }
  if (m_rc != 0) return "";
  const bool is_dir = S_ISDIR(p.st_mode);
  if (m.st_mode != p.st_mode || m.st_uid != p.st_uid || m.st_gid != p.st_gid ||
      m.st_nlink != p.st_nlink || (!is_dir && m.st_size != p.st_size)) {
    return what + ": mount has " + DescribeStat(m) + ", plain has " + DescribeStat(p);
  }
  if (S_ISLNK(p.st_mode)) {
    const std::string mt = ReadLinkOf(mount_path), pt = ReadLinkOf(plain_path);
    if (mt != pt) return what + ": link target \"" + mt + "\" vs \"" + pt + "\"";
  } else if (S_ISREG(p.st_mode)) {
    int m_read = 0, p_read = 0;
    const auto mc = ReadFile(mount_path, &m_read);
    const auto pc = ReadFile(plain_path, &p_read);
    if (m_read != p_read) {
      return what + ": read: mount " + ErrnoName(m_read) + ", plain " + ErrnoName(p_read);
    }
    if (mc && pc) {
      const ::testing::AssertionResult same = SameBytes(*mc, *pc);
      if (!same) return what + ": content: " + same.message();
    }
  }
  return "";
}

std::string CompareTrees(const std::string& mount_root, const std::string& plain_root,
                         const std::string& top_prefix) {
  TreeComparer comparer(top_prefix);
  comparer.Compare(mount_root, plain_root, "");
  return comparer.result();
}

}  // namespace modelvault::fs::test
