// Running part of a test as another user: a forked child drops to the given uid, gid and
// supplementary groups (setgroups, setgid, setuid, in that order, so that it cannot get
// back) and runs a function or a program. The FUSE daemon sees a real process of that
// identity, as the access gate must.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace modelvault::fs::test {

struct Identity {
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;  // supplementary groups
};

// Runs `fn` in a child with `who`'s identity and returns what it returned (0..255; use an
// errno or 0), or -1 if the child could not switch identity or died.
int RunAs(const Identity& who, const std::function<int()>& fn);

// Runs program `argv` as `who` with stdout and stderr to /dev/null; its exit status, or -1.
int ExecAs(const Identity& who, const std::vector<std::string>& argv);

// The errno of one system call made as `who` (0 if it succeeded): open read-only and read
// it all, statx for the size, list a directory, map a file and read the first page.
int OpenAndReadAs(const Identity& who, const std::string& path);
int StatAs(const Identity& who, const std::string& path);
int ListAs(const Identity& who, const std::string& path);
int MmapAs(const Identity& who, const std::string& path);
int CreateAs(const Identity& who, const std::string& path);

}  // namespace modelvault::fs::test
