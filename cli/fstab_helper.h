// The mount helper form of the command line. For an fstab line of type fuse.modelvault,
// mount(8) runs mount.fuse3, which runs `modelvault BACKING MOUNTPOINT -o OPTIONS`.
// HelperToMountArgs turns that into the equivalent `modelvault mount` command line:
//
//   config=FILE   --config FILE (the YAML; BACKING and MOUNTPOINT from fstab override it)
//   ro            --read-only (overrides the file's read_only: false)
//   rw            ignored: mount(8) passes it whenever ro is absent, so the file decides
//   allow_other, exec, noexec, atime, noatime, relatime, ...   passed on to -o
//   dev, suid, nodev, nosuid   ignored: the mount is always nodev,nosuid (mount.fuse3 adds
//                 dev,suid on its own unless told otherwise)
//   nofail, _netdev, auto, noauto, defaults, x-*, comment=*   for mount(8) and systemd;
//                 ignored
//
// Any other option is refused by name. The daemon always detaches (mount(8) waits for the
// helper to exit), whatever the file says about foreground.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace modelvault::cli {

// True if `first` (argv[1]) is an existing path rather than an option or a subcommand name.
bool LooksLikeHelperCall(const std::vector<std::string>& subcommands, const std::string& first);

// `args` are argv[1..]: BACKING MOUNTPOINT [-o OPTIONS]... Returns the arguments of the
// equivalent call, starting with "mount".
Result<std::vector<std::string>> HelperToMountArgs(const std::vector<std::string>& args);

}  // namespace modelvault::cli
