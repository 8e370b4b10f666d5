// Extended attributes. Only the user.* namespace is offered. In the backing file a
// user attribute is stored as "user.mv." + the sealed name (AES-SIV, like file names but
// bound to a fixed label), its value sealed with AES-256-GCM under the xattr key with the
// plaintext name as associated data, so values cannot be moved between attributes.
//
// Names under "user.modelvault." are not stored: they are how `modelvault sign` and
// `unfreeze` talk to the daemon about a directory (control.h lists them).
#include <sys/xattr.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include "crypto/base64.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "fs/control.h"
#include "fs/filesystem.h"
#include "fs/mount_status.h"

namespace modelvault::fs {
namespace {

constexpr std::string_view kUserPrefix = "user.";
constexpr std::string_view kBackingPrefix = "user.mv.";
constexpr std::string_view kNameLabel = "modelvault v1 xattr-name";
constexpr size_t kOverhead = crypto::AesGcm::kNonceSize + crypto::AesGcm::kTagSize;

Status Errno(std::string_view what) { return Status::FromErrno(errno, what); }

// How long a freeze waits for writers whose release requests are still on their way.
constexpr int kReleaseWaitMs = 2000;

bool IsControl(std::string_view name) { return name.starts_with(kControlPrefix); }

}  // namespace

Status Filesystem::DoControl(Inode* inode, std::string_view name, std::span<const uint8_t> value) {
  std::shared_ptr<DirNode> node = inode->Node();
  if (inode->type != S_IFDIR || !node) return Status::FromErrno(ENOTDIR, "control attribute");
  if (name == kControlFreeze) {
    // `sign` writes into the backing directory itself, past this daemon's checks: a
    // directory inside a frozen one must not be signed on its own.
    if (node->parent && signed_.Frozen(*node->parent)) {
      return Status::FromErrno(EROFS, "freezing a directory inside a frozen directory");
    }
    std::unique_lock freezing(freeze_mu_);
    auto busy = [&] {
      bool found = false;
      inodes_.ForEach([&](Inode* other) {
        if (found || other->writers.load() == 0) return;
        std::shared_ptr<DirNode> n = other->Node();
        found = n && signed_.IsUnder(*n, *node);
      });
      return found;
    };
    // A file closed just now is still counted until the kernel's release request, which it
    // sends after close(2) has returned, reaches the daemon: give those a moment. Releases
    // do not take freeze_mu_; new opens for writing wait for it.
    for (int waited_ms = 0; busy() && waited_ms < kReleaseWaitMs; waited_ms += 10) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    // A write already accepted into the kernel's cache could not be refused any more.
    if (busy()) return Status::FromErrno(EBUSY, "a file in the directory is open for writing");
    return signed_.Freeze(*node, inode->fd.get());
  }
  if (name == kControlUnfreeze) {
    if (!node->frozen) return Status::FromErrno(EINVAL, "the directory itself is not frozen");
    return signed_.Unfreeze(*node, inode->fd.get(), value);
  }
  if (name == kControlReload) return signed_.Reload(*node, inode->fd.get());
  return Status::FromErrno(EOPNOTSUPP, "control attribute");
}

Result<std::vector<uint8_t>> Filesystem::ReadControl(Inode* inode, std::string_view name) {
  if (name == kControlStatus) {
    if (inode != inodes_.root()) return Status::FromErrno(ENODATA, "status: not the mount root");
    std::string json = MountStatus(*this).dump();
    return std::vector<uint8_t>(json.begin(), json.end());
  }
  std::shared_ptr<DirNode> node = inode->Node();
  if (!node) return Status::FromErrno(ENODATA, "control attribute");
  if (name == kControlBacking) {
    std::string path = signed_.BackingPath(*node);
    return std::vector<uint8_t>(path.begin(), path.end());
  }
  if (name == kControlChallenge && inode->type == S_IFDIR) return signed_.Challenge(*node);
  return Status::FromErrno(ENODATA, "control attribute");
}

Result<std::string> Filesystem::XattrName(std::string_view name) {
  if (!name.starts_with(kUserPrefix)) return Status::FromErrno(EOPNOTSUPP, "xattr namespace");
  auto plain = name.substr(kUserPrefix.size());
  MV_ASSIGN_OR_RETURN(auto sealed, volume_->keys()->names().Encrypt({crypto::AsBytes(kNameLabel)},
                                                                    crypto::AsBytes(plain)));
  std::string out = std::string(kBackingPrefix) + crypto::Base64UrlEncode(sealed);
  if (out.size() > XATTR_NAME_MAX) return Status::FromErrno(ERANGE, "xattr name too long");
  return out;
}

Status Filesystem::DoSetxattr(Inode* inode, std::string_view name, std::span<const uint8_t> value,
                              int flags) {
  if (IsControl(name)) return DoControl(inode, name, value);
  MV_RETURN_IF_ERROR(CheckMutable(inode, "setxattr"));
  MV_ASSIGN_OR_RETURN(std::string backing, XattrName(name));
  std::vector<uint8_t> sealed(value.size() + kOverhead);
  auto nonce = std::span(sealed).first(crypto::AesGcm::kNonceSize);
  MV_RETURN_IF_ERROR(crypto::RandomBytes(nonce));
  MV_RETURN_IF_ERROR(volume_->keys()->xattrs().Seal(
      std::span(sealed).subspan(nonce.size(), value.size()),
      std::span(sealed).last(crypto::AesGcm::kTagSize), nonce, crypto::AsBytes(name), value));
  MV_ASSIGN_OR_RETURN(PathRef ref, PathOf(inode));
  if (setxattr(ProcPath(ref.get()).c_str(), backing.c_str(), sealed.data(), sealed.size(), flags) !=
      0) {
    return Errno("setxattr");
  }
  return Status::Ok();
}

Result<std::vector<uint8_t>> Filesystem::DoGetxattr(Inode* inode, std::string_view name) {
  // Other namespaces hold nothing here; ENODATA is what callers probing them expect.
  if (!name.starts_with(kUserPrefix)) return Status::FromErrno(ENODATA, "getxattr");
  if (IsControl(name)) return ReadControl(inode, name);
  MV_ASSIGN_OR_RETURN(std::string backing, XattrName(name));
  MV_ASSIGN_OR_RETURN(PathRef ref, PathOf(inode));
  std::string path = ProcPath(ref.get());
  std::vector<uint8_t> sealed(XATTR_SIZE_MAX);
  ssize_t n = getxattr(path.c_str(), backing.c_str(), sealed.data(), sealed.size());
  if (n < 0) return Errno("getxattr");
  if (static_cast<size_t>(n) < kOverhead) {
    return Status::Corruption(BackingPath(ref.get()) + ": extended attribute is cut short");
  }
  std::vector<uint8_t> value(static_cast<size_t>(n) - kOverhead);
  auto in = std::span<const uint8_t>(sealed).first(static_cast<size_t>(n));
  Status st = volume_->keys()->xattrs().Open(
      value, in.first(crypto::AesGcm::kNonceSize), crypto::AsBytes(name),
      in.subspan(crypto::AesGcm::kNonceSize, value.size()), in.last(crypto::AesGcm::kTagSize));
  if (!st.ok()) {
    return Status::Corruption(BackingPath(ref.get()) +
                              ": extended attribute failed authentication");
  }
  return value;
}

Result<std::string> Filesystem::DoListxattr(Inode* inode) {
  MV_ASSIGN_OR_RETURN(PathRef ref, PathOf(inode));
  std::string path = ProcPath(ref.get());
  ssize_t size = listxattr(path.c_str(), nullptr, 0);
  if (size < 0) return Errno("listxattr");
  std::string names(static_cast<size_t>(size), '\0');
  size = listxattr(path.c_str(), names.data(), names.size());
  if (size < 0) return Errno("listxattr");
  names.resize(static_cast<size_t>(size));
  std::string out;
  for (size_t pos = 0; pos < names.size();) {
    std::string_view one(names.c_str() + pos);
    pos += one.size() + 1;
    if (!one.starts_with(kBackingPrefix)) continue;
    auto raw = crypto::Base64UrlDecode(one.substr(kBackingPrefix.size()));
    if (!raw.ok()) continue;
    auto plain = volume_->keys()->names().Decrypt({crypto::AsBytes(kNameLabel)}, *raw);
    if (!plain.ok()) continue;  // not ours, or tampered: not listed
    out.append(kUserPrefix);
    out.append(plain->begin(), plain->end());
    out.push_back('\0');
  }
  return out;
}

Status Filesystem::DoRemovexattr(Inode* inode, std::string_view name) {
  if (!name.starts_with(kUserPrefix) || IsControl(name)) {
    return Status::FromErrno(ENODATA, "removexattr");
  }
  MV_RETURN_IF_ERROR(CheckMutable(inode, "removexattr"));
  MV_ASSIGN_OR_RETURN(std::string backing, XattrName(name));
  MV_ASSIGN_OR_RETURN(PathRef ref, PathOf(inode));
  if (removexattr(ProcPath(ref.get()).c_str(), backing.c_str()) != 0) {
    return Errno("removexattr");
  }
  return Status::Ok();
}

}  // namespace modelvault::fs
