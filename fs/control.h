// The control attributes: extended attribute names under "user.modelvault." that are not
// stored but let `modelvault sign` and `modelvault unfreeze` ask the mount daemon about a
// directory, through the mount and so through the access gate and the kernel's permission
// checks (setting a user.* attribute needs write access to the directory). The publisher's
// key never reaches the daemon, and the daemon hands out no key.
//
//   setxattr freeze     the directory and everything under it become immutable (EROFS)
//   setxattr unfreeze   value: a signature over the challenge by the key that signed the
//                       directory (any value if it was never signed)
//   setxattr reload     read .mvfrozen and .mvmanifest again (after `sign` wrote one)
//   getxattr backing    the directory's backing path relative to the store (no secret)
//   getxattr challenge  a fresh message for the unfreeze signature
//   getxattr status     on the mount's root only: the daemon's counters and settings as JSON
//                       (mount_status.h); the user who mounted may read it even when the
//                       access policy does not admit them
#pragma once

#include <string_view>

namespace modelvault::fs {

inline constexpr std::string_view kControlPrefix = "user.modelvault.";
inline constexpr std::string_view kControlFreeze = "user.modelvault.freeze";
inline constexpr std::string_view kControlUnfreeze = "user.modelvault.unfreeze";
inline constexpr std::string_view kControlReload = "user.modelvault.reload";
inline constexpr std::string_view kControlBacking = "user.modelvault.backing";
inline constexpr std::string_view kControlChallenge = "user.modelvault.challenge";
inline constexpr std::string_view kControlStatus = "user.modelvault.status";

}  // namespace modelvault::fs
