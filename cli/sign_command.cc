// `modelvault sign DIR --signing-key KEY` and `modelvault unfreeze DIR --signing-key KEY`:
// publishing a directory of a mounted store, and opening it again for a deliberate update.
//
// Signing flushes every file of DIR through the mount, has the daemon freeze DIR (from then
// on nothing in it can change through any mount), hashes its ciphertext in the backing
// directory, and writes the manifest signed with the publisher's key beside it. The key
// stays in this process or its token; the daemon is only asked, through control
// attributes, to freeze, unfreeze and reload.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>

#include "base/file_util.h"
#include "base/time_util.h"
#include "cli/audit_trail.h"
#include "cli/commands.h"
#include "cli/mounted_dir.h"
#include "cli/publisher_key.h"
#include "cli/terminal.h"
#include "crypto/signing_key.h"
#include "volume/manifest.h"
#include "volume/volume_header.h"

namespace modelvault::cli {
namespace {

struct SignArgs {
  std::string dir;
  PublisherKeySettings key;
  bool resign = false;
  AuditSettings audit;
};

// Writes back everything the kernel still holds for the files under `path` (the writeback
// cache), so that what is hashed is what was written.
Status FlushTree(const std::string& path) {
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
    if (S_ISDIR(st.st_mode)) {
      MV_RETURN_IF_ERROR(FlushTree(child));
    } else if (S_ISREG(st.st_mode)) {
      int fd = open(child.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return Status::FromErrno(errno, child);
      int rc = fsync(fd);
      close(fd);
      if (rc != 0) return Status::FromErrno(errno, "flushing " + child);
    }
  }
  return Status::Ok();
}

Result<std::optional<volume::Manifest>> ExistingManifest(const std::string& signed_dir) {
  std::string path = signed_dir + "/" + volume::kManifestFile;
  if (access(path.c_str(), F_OK) != 0) return std::optional<volume::Manifest>();
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> text, ReadFileBytes(path, 256 << 20));
  MV_ASSIGN_OR_RETURN(volume::Manifest m,
                      volume::Manifest::Parse(std::string(text.begin(), text.end()), path));
  return std::optional<volume::Manifest>(std::move(m));
}

Status RunSign(const SignArgs& a) {
  MV_ASSIGN_OR_RETURN(auto signer, OpenPublisherKey(a.key));
  MV_ASSIGN_OR_RETURN(MountedDir dir, FindMountedDir(a.dir));
  MV_ASSIGN_OR_RETURN(volume::VolumeHeader header, volume::ReadVolumeHeader(dir.backing));
  MV_ASSIGN_OR_RETURN(auto log, OpenAuditLog(a.audit, header));
  MV_ASSIGN_OR_RETURN(std::string signed_dir, BackingDirOf(dir));
  MV_ASSIGN_OR_RETURN(std::optional<volume::Manifest> old, ExistingManifest(signed_dir));
  if (old && !a.resign) {
    return Status::AlreadyExists(dir.path + " is signed already (version " +
                                 std::to_string(old->version) +
                                 "); to publish a change, unfreeze it, change it, then sign "
                                 "--resign");
  }
  if (!old && a.resign) return Status::InvalidArgument(dir.path + " has never been signed");
  MV_RETURN_IF_ERROR(FlushTree(dir.path));
  Status frozen = SetControl(dir, "user.modelvault.freeze", {'1'});
  if (frozen.ToErrno() == EBUSY) {
    return Status::Busy("a file in " + dir.path +
                        " is open for writing; close it (or stop the writer) and sign again");
  }
  if (frozen.ToErrno() == EROFS) {
    return Status::InvalidArgument(dir.path + " is inside a signed directory, which covers it");
  }
  MV_RETURN_IF_ERROR(frozen);

  volume::Manifest manifest;
  manifest.volume_id = header.volume_id;
  manifest.version = old ? old->version + 1 : 1;
  manifest.signed_at = NowRfc3339Utc();
  manifest.directory =
      signed_dir == dir.backing ? "" : signed_dir.substr(signed_dir.rfind('/') + 1);
  manifest.block_size = header.block_size;
  manifest.algorithm = signer->Algorithm();
  manifest.public_key = signer->PublicKey();
  {
    ProgressLine progress("Hashing " + dir.path);
    auto entries = volume::HashSignedTree(
        signed_dir, header.block_size,
        [&](uint64_t done, uint64_t total) { progress.Update(done, total); });
    if (!entries.ok()) {
      // A directory that was never signed goes back to how it was; one signed before stays
      // frozen under its old manifest.
      if (!old) (void)SetControl(dir, "user.modelvault.unfreeze", {});
      return entries.status();
    }
    manifest.entries = std::move(entries).value();
  }
  std::string body = manifest.SignedBody();
  MV_ASSIGN_OR_RETURN(manifest.signature,
                      signer->Sign({reinterpret_cast<const uint8_t*>(body.data()), body.size()}));
  std::string text = manifest.Serialize();
  MV_RETURN_IF_ERROR(
      WriteFileAtomically(signed_dir + "/" + volume::kManifestFile,
                          {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, 0644));
  MV_RETURN_IF_ERROR(SetControl(dir, "user.modelvault.reload", {'1'}));

  uint64_t files = 0, bytes = 0;
  for (const auto& e : manifest.entries) {
    if (e.kind == volume::ManifestEntry::Kind::kFile) {
      ++files;
      bytes += e.size;
    }
  }
  std::cout << "Signed " << dir.path << ": version " << manifest.version << ", " << files
            << " files, " << bytes << " bytes, key " << manifest.KeyId() << "\n";
  // Nobody here holds the store key, so the record is chained but unsigned; the daemon's
  // next signed record covers it.
  return AuditRecord(log.get(), "signed",
                     {{"directory", signed_dir.substr(dir.backing.size())},
                      {"version", manifest.version},
                      {"key", manifest.KeyId()},
                      {"files", files}});
}

Status RunUnfreeze(const std::string& path, const PublisherKeySettings& key) {
  MV_ASSIGN_OR_RETURN(auto signer, OpenPublisherKey(key));
  MV_ASSIGN_OR_RETURN(MountedDir dir, FindMountedDir(path));
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> challenge, GetControl(dir, "user.modelvault.challenge"));
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> signature, signer->Sign(challenge));
  Status unfrozen = SetControl(dir, "user.modelvault.unfreeze", signature);
  if (unfrozen.ToErrno() == EINVAL) {
    return Status::InvalidArgument(dir.path +
                                   " is not frozen itself (a directory inside a signed one is "
                                   "unfrozen with it)");
  }
  if (unfrozen.ToErrno() == EACCES || unfrozen.ToErrno() == EPERM) {
    std::string expected;
    if (auto backing = BackingDirOf(dir); backing.ok()) {
      if (auto m = volume::ReadManifest(*backing); m.ok()) expected = " (" + m->KeyId() + ")";
    }
    return Status::PermissionDenied(dir.path + " was signed by another key" + expected +
                                    "; only that key unfreezes it");
  }
  MV_RETURN_IF_ERROR(unfrozen);
  std::cout << "Unfrozen " << dir.path
            << ": it can change again; readers that trust its key refuse changed files "
               "until it is signed again (sign --resign)\n";
  return Status::Ok();
}

}  // namespace

void AddSignCommand(CLI::App& app) {
  auto a = std::make_shared<SignArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sign", "Freeze a directory of a mounted store and sign its content as its publisher");
  cmd->footer(
      "Examples:\n"
      "  modelvault signing-key generate publisher.pem publisher.pub.pem\n"
      "  modelvault sign /models/llama-3-8b --signing-key publisher.pem\n"
      "  modelvault sign /models/llama-3-8b --signing-key 'pkcs11:token=release;object=sign' "
      "--pin-file PIN\n"
      "  modelvault unfreeze /models/llama-3-8b --signing-key publisher.pem  # then change it\n"
      "  modelvault sign /models/llama-3-8b --signing-key publisher.pem --resign");
  cmd->add_option("DIR", a->dir, "A directory inside a mounted store")->required();
  AddPublisherKeyOptions(cmd, &a->key);
  cmd->add_flag("--resign", a->resign,
                "Replace the manifest of a directory signed before with a new version");
  AddAuditOptions(cmd, &a->audit);
  SetAction(cmd, [a] { return RunSign(*a); });

  auto dir = std::make_shared<std::string>();
  auto key = std::make_shared<PublisherKeySettings>();
  CLI::App* unfreeze = app.add_subcommand(
      "unfreeze", "Let a signed directory change again (needs the key that signed it)");
  unfreeze->footer(
      "Examples:\n"
      "  modelvault unfreeze /models/llama-3-8b --signing-key publisher.pem\n"
      "  modelvault unfreeze /models/llama-3-8b --signing-key 'pkcs11:token=release;object=sign' "
      "--pin-file PIN");
  unfreeze->add_option("DIR", *dir, "A signed directory inside a mounted store")->required();
  AddPublisherKeyOptions(unfreeze, key.get());
  SetAction(unfreeze, [dir, key] { return RunUnfreeze(*dir, *key); });
}

}  // namespace modelvault::cli
