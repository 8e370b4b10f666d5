#include "cli/fstab_helper.h"

#include <sys/stat.h>

#include <algorithm>
#include <sstream>
#include <string_view>

namespace modelvault::cli {
namespace {

// Kernel and libfuse mount options that mean the same through fstab as through `-o`.
constexpr std::string_view kPassedOn =
    " allow_other default_permissions exec noexec atime noatime relatime norelatime strictatime"
    " diratime nodiratime lazytime nolazytime sync async dirsync ";

// Options that are mount(8)'s, systemd's or mount.fuse3's business, or that would weaken the
// mount (mount.fuse3 adds dev,suid unless nodev/nosuid was given). mount(8) passes rw
// whenever ro is absent, so rw cannot override the file's read_only.
constexpr std::string_view kIgnored =
    " rw defaults auto noauto nofail _netdev user nouser users dev suid nodev nosuid ";

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// True if `s` is one of the words of `list` (space-separated, with spaces at both ends).
bool OneOf(std::string_view list, const std::string& s) {
  return s.find(' ') == std::string::npos && list.find(" " + s + " ") != std::string_view::npos;
}

// Adds what one fstab option means to `out`, or says why it cannot be used.
Status MapOption(const std::string& opt, std::vector<std::string>* out,
                 std::vector<std::string>* fuse_options) {
  if (StartsWith(opt, "config=")) {
    if (opt.size() == 7) return Status::InvalidArgument("mount option config= needs a file");
    out->insert(out->end(), {"--config", opt.substr(7)});
  } else if (opt == "ro") {
    out->push_back("--read-only");
  } else if (OneOf(kPassedOn, opt)) {
    fuse_options->push_back(opt);
  } else if (OneOf(kIgnored, opt) || StartsWith(opt, "x-") || StartsWith(opt, "comment=")) {
    // Nothing for the daemon to do.
  } else {
    return Status::InvalidArgument("unknown mount option '" + opt +
                                   "' (modelvault takes config=FILE, ro, allow_other, "
                                   "exec/noexec and the atime options; see DEPLOYMENT.md)");
  }
  return Status::Ok();
}

}  // namespace

bool LooksLikeHelperCall(const std::vector<std::string>& subcommands, const std::string& first) {
  if (first.empty() || first[0] == '-') return false;
  if (std::find(subcommands.begin(), subcommands.end(), first) != subcommands.end()) return false;
  struct stat st;
  return stat(first.c_str(), &st) == 0;
}

Result<std::vector<std::string>> HelperToMountArgs(const std::vector<std::string>& args) {
  const std::string usage = "usage: modelvault BACKING MOUNTPOINT [-o config=FILE,ro,...]";
  if (args.size() < 2) return Status::InvalidArgument(usage);
  const std::string& mountpoint = args[1];
  if (StartsWith(mountpoint, "/dev/fd/")) {
    return Status::InvalidArgument(
        "the drop_privileges mount option is not supported: modelvault mounts by itself");
  }
  std::vector<std::string> out = {"mount", args[0], mountpoint, "--background"};
  std::vector<std::string> fuse_options;
  for (size_t i = 2; i < args.size(); ++i) {
    if (args[i] != "-o" || i + 1 == args.size()) {
      return Status::InvalidArgument("unexpected argument '" + args[i] + "'; " + usage);
    }
    std::stringstream list(args[++i]);
    for (std::string opt; std::getline(list, opt, ',');) {
      if (!opt.empty()) MV_RETURN_IF_ERROR(MapOption(opt, &out, &fuse_options));
    }
  }
  for (const std::string& opt : fuse_options) out.insert(out.end(), {"-o", opt});
  return out;
}

}  // namespace modelvault::cli
