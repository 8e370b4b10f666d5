#include "cli/sign_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

namespace modelvault::cli {
namespace {

// Calls `visit` for every object below `path` (not following symlinks), depth first.
Status Walk(const std::string& path,
            const std::function<Status(const std::string&, const struct stat&)>& visit) {
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return Status::FromErrno(errno, path);
  std::vector<std::string> names;
  while (dirent* e = readdir(dir)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(dir);
  for (const std::string& name : names) {
    std::string child = path + "/" + name;
    struct stat st;
    if (lstat(child.c_str(), &st) != 0) return Status::FromErrno(errno, child);
    MV_RETURN_IF_ERROR(visit(child, st));
    if (S_ISDIR(st.st_mode)) MV_RETURN_IF_ERROR(Walk(child, visit));
  }
  return Status::Ok();
}

}  // namespace

Status FlushTree(const std::string& path,
                 const std::function<void(uint64_t done, uint64_t total)>& progress) {
  uint64_t total = 0, done = 0;
  MV_RETURN_IF_ERROR(Walk(path, [&](const std::string&, const struct stat& st) -> Status {
    if (S_ISREG(st.st_mode)) total += static_cast<uint64_t>(st.st_size);
    return Status::Ok();
  }));
  progress(0, total);
  return Walk(path, [&](const std::string& child, const struct stat& st) -> Status {
    if (!S_ISREG(st.st_mode)) return Status::Ok();
    int fd = open(child.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, child);
    int rc = fsync(fd);
    close(fd);
    if (rc != 0) return Status::FromErrno(errno, "flushing " + child);
    done += static_cast<uint64_t>(st.st_size);
    progress(std::min(done, total), total);
    return Status::Ok();
  });
}

Status CheckNoOutsideLinks(const std::string& path) {
  struct Seen {
    std::string first;  // the first name of the file found inside
    nlink_t inside = 0;
    nlink_t total = 0;
  };
  std::map<std::pair<dev_t, ino_t>, Seen> files;
  MV_RETURN_IF_ERROR(Walk(path, [&](const std::string& child, const struct stat& st) -> Status {
    if (!S_ISREG(st.st_mode) || st.st_nlink <= 1) return Status::Ok();
    Seen& seen = files[{st.st_dev, st.st_ino}];
    if (seen.first.empty()) seen.first = child;
    ++seen.inside;
    seen.total = st.st_nlink;
    return Status::Ok();
  }));
  for (const auto& [id, seen] : files) {
    if (seen.inside >= seen.total) continue;
    nlink_t outside = seen.total - seen.inside;
    return Status::InvalidArgument(
        seen.first + " has " + std::to_string(outside) + " hard link" + (outside == 1 ? "" : "s") +
        " outside " + path + ", through which the signed file could still be changed; remove " +
        (outside == 1 ? "that link" : "those links") +
        " (or replace the file by a copy: cp --remove-destination) and sign again");
  }
  return Status::Ok();
}

std::string FindWriter(const std::string& path) {
  const std::string inside = path + "/";
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return "";
  std::string found;
  while (dirent* p = readdir(proc)) {
    std::string pid = p->d_name;
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string fd_dir = "/proc/" + pid + "/fd";
    DIR* fds = opendir(fd_dir.c_str());
    if (fds == nullptr) continue;
    while (dirent* f = readdir(fds)) {
      char target[4096];
      ssize_t n = readlink((fd_dir + "/" + f->d_name).c_str(), target, sizeof(target));
      if (n <= 0 || !std::string_view(target, static_cast<size_t>(n)).starts_with(inside)) continue;
      // fdinfo's "flags:" is the open flags in octal.
      FILE* in = fopen(("/proc/" + pid + "/fdinfo/" + f->d_name).c_str(), "re");
      if (in == nullptr) continue;
      unsigned flags = 0;
      bool have = fscanf(in, "pos: %*u flags: %o", &flags) == 1;
      fclose(in);
      if (!have || (flags & O_ACCMODE) == O_RDONLY) continue;
      std::string comm;
      if (FILE* c = fopen(("/proc/" + pid + "/comm").c_str(), "re")) {
        char buf[64] = {};
        if (fgets(buf, sizeof(buf), c) != nullptr) comm = buf;
        fclose(c);
        if (!comm.empty() && comm.back() == '\n') comm.pop_back();
      }
      found = std::string(target, static_cast<size_t>(n)) + " (pid " + pid +
              (comm.empty() ? "" : ", " + comm) + ")";
      break;
    }
    closedir(fds);
    if (!found.empty()) break;
  }
  closedir(proc);
  return found;
}

Status WithPlaintextNames(const Status& failure, const std::string& path,
                          const std::string& backing) {
  // Backing path -> name in the mount, from the daemon's control attribute (symlinks carry
  // no user attributes, so they keep their backing names).
  std::vector<std::pair<std::string, std::string>> names;
  auto note = [&](const std::string& child, const struct stat& st) -> Status {
    if (S_ISLNK(st.st_mode)) return Status::Ok();
    char buf[4096];
    ssize_t n = lgetxattr(child.c_str(), "user.modelvault.backing", buf, sizeof(buf));
    if (n > 0) names.emplace_back(backing + "/" + std::string(buf, static_cast<size_t>(n)), child);
    return Status::Ok();
  };
  struct stat top;
  if (lstat(path.c_str(), &top) == 0) (void)note(path, top);
  (void)Walk(path, note);
  // Longest first, so that a file is named rather than its directory.
  std::sort(names.begin(), names.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  const std::string& message = failure.message();
  const std::string prefix = backing + "/";
  std::string out;
  for (size_t i = 0; i < message.size();) {
    bool named = false;
    if (message.compare(i, prefix.size(), prefix) == 0) {
      for (const auto& [cipher, plain] : names) {
        size_t end = i + cipher.size();
        // Whole paths only: a directory followed by "/.mvhashes" stays as it is.
        if (message.compare(i, cipher.size(), cipher) != 0 ||
            (end < message.size() &&
             std::string_view(":, ").find(message[end]) == std::string_view::npos)) {
          continue;
        }
        out += plain + " (" + cipher + ")";
        i = end;
        named = true;
        break;
      }
    }
    if (!named) out += message[i++];
  }
  if (out == message) return failure;
  return Status::InvalidArgument(out);
}

}  // namespace modelvault::cli
