// `modelvault sign DIR --signing-key KEY` and `modelvault unfreeze DIR --signing-key KEY`:
// publishing a directory of a mounted store, and opening it again for a deliberate update.
//
// Signing flushes every file of DIR through the mount, has the daemon freeze DIR (from then
// on nothing in it can change through any mount), hashes its ciphertext in the backing
// directory, and writes the manifest signed with the publisher's key beside it. The key
// stays in this process or its token; the daemon is only asked, through control
// attributes, to freeze, unfreeze and reload.
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "base/file_util.h"
#include "base/time_util.h"
#include "cli/audit_trail.h"
#include "cli/commands.h"
#include "cli/mounted_dir.h"
#include "cli/publisher_key.h"
#include "cli/sign_tree.h"
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

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

Result<std::optional<volume::Manifest>> ExistingManifest(const std::string& signed_dir) {
  std::string path = signed_dir + "/" + volume::kManifestFile;
  if (access(path.c_str(), F_OK) != 0) return std::optional<volume::Manifest>();
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> text, ReadFileBytes(path, 256 << 20));
  MV_ASSIGN_OR_RETURN(volume::Manifest m,
                      volume::Manifest::Parse(std::string(text.begin(), text.end()), path));
  return std::optional<volume::Manifest>(std::move(m));
}

// The kernel refuses every attribute change on a read-only mount with EROFS, which the
// daemon also answers for a directory inside a frozen one; telling them apart here keeps
// the message true.
Status CheckReadWriteMount(const MountedDir& dir, const std::string& what) {
  struct statvfs vfs;
  if (statvfs(dir.path.c_str(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY) != 0) {
    return Status::InvalidArgument(dir.path + " is on the read-only mount " + dir.mountpoint +
                                   "; " + what + " it through the store's read-write mount");
  }
  return Status::Ok();
}

std::string WhoCannot() { return "this user (uid " + std::to_string(getuid()) + ")"; }

// `sign` writes the hash lists and the manifest into the backing directory itself; a user
// the mount admits may still lack the rights there, which is found out before freezing.
Result<volume::VolumeHeader> ReadHeaderToSign(const MountedDir& dir) {
  Result<volume::VolumeHeader> header = volume::ReadVolumeHeader(dir.backing);
  if (!header.ok() && header.status().ToErrno() == EACCES) {
    return Status::PermissionDenied(header.status().message() +
                                    ": signing reads and writes the store's backing directory " +
                                    dir.backing + ", which " + WhoCannot() +
                                    " may not; run sign as a user who may (its owner)");
  }
  return header;
}

Status CheckBackingWritable(const std::string& signed_dir) {
  for (std::string path : {signed_dir, signed_dir + "/" + volume::kHashesDir}) {
    if (path != signed_dir && !Exists(path)) continue;
    if (access(path.c_str(), W_OK | X_OK) != 0) {
      return Status::PermissionDenied(path + ": " + WhoCannot() +
                                      " may not write this backing directory, where signing "
                                      "puts the manifest; run sign as a user who may (the "
                                      "store's owner)");
    }
  }
  return Status::Ok();
}

// Puts a directory this `sign` froze back as it was after a failure: unfrozen, and without
// the hash lists it wrote if it had none. Unfreezing a directory with a manifest takes a
// signature over the daemon's challenge, which only the key that signed it can give.
Status UndoFreeze(const MountedDir& dir, const std::string& signed_dir, bool had_hashes,
                  bool has_manifest, volume::ManifestSigner& signer, const Status& failure) {
  if (!had_hashes) {
    std::error_code ignored;
    std::filesystem::remove_all(signed_dir + "/" + volume::kHashesDir, ignored);
  }
  std::vector<uint8_t> proof;
  if (has_manifest) {
    auto challenge = GetControl(dir, "user.modelvault.challenge");
    auto signature =
        challenge.ok() ? signer.Sign(*challenge) : Result<std::vector<uint8_t>>(challenge.status());
    if (signature.ok()) proof = std::move(signature).value();
  }
  if (!SetControl(dir, "user.modelvault.unfreeze", proof).ok()) {
    return failure.Annotate(dir.path +
                            " stays frozen (unfreeze it with the key that signed it before)");
  }
  return failure;
}

// From the freeze on: checks, hashes and signs the frozen directory and writes the manifest.
Result<volume::Manifest> SignFrozen(const MountedDir& dir, const std::string& signed_dir,
                                    const volume::VolumeHeader& header,
                                    const std::optional<volume::Manifest>& old,
                                    volume::ManifestSigner& signer) {
  MV_RETURN_IF_ERROR(CheckNoOutsideLinks(dir.path));
  volume::Manifest manifest;
  manifest.volume_id = header.volume_id;
  manifest.version = old ? old->version + 1 : 1;
  manifest.signed_at = NowRfc3339Utc();
  manifest.directory =
      signed_dir == dir.backing ? "" : signed_dir.substr(signed_dir.rfind('/') + 1);
  manifest.block_size = header.block_size;
  manifest.algorithm = signer.Algorithm();
  manifest.public_key = signer.PublicKey();
  {
    ProgressLine progress("Hashing " + dir.path);
    MV_ASSIGN_OR_RETURN(
        manifest.entries,
        volume::HashSignedTree(signed_dir, header.block_size, [&](uint64_t done, uint64_t total) {
          progress.Update(done, total);
        }));
  }
  std::string body = manifest.SignedBody();
  MV_ASSIGN_OR_RETURN(manifest.signature,
                      signer.Sign({reinterpret_cast<const uint8_t*>(body.data()), body.size()}));
  std::string text = manifest.Serialize();
  MV_RETURN_IF_ERROR(
      WriteFileAtomically(signed_dir + "/" + volume::kManifestFile,
                          {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, 0644));
  return manifest;
}

Status RunSign(const SignArgs& a) {
  MV_ASSIGN_OR_RETURN(MountedDir dir, FindMountedDir(a.dir));
  MV_RETURN_IF_ERROR(CheckReadWriteMount(dir, "sign"));
  MV_ASSIGN_OR_RETURN(volume::VolumeHeader header, ReadHeaderToSign(dir));
  MV_ASSIGN_OR_RETURN(auto signer, OpenPublisherKey(a.key));
  MV_ASSIGN_OR_RETURN(auto log, OpenAuditLog(a.audit, header));
  MV_ASSIGN_OR_RETURN(std::string signed_dir, BackingDirOf(dir));
  MV_ASSIGN_OR_RETURN(std::optional<volume::Manifest> old, ExistingManifest(signed_dir));
  // Frozen without a manifest: a `sign` that did not finish; signing it again completes it.
  const bool was_frozen = Exists(signed_dir + "/" + volume::kFrozenMarker);
  if (old && !a.resign) {
    return Status::AlreadyExists(
        dir.path + " is signed already (version " + std::to_string(old->version) + ")" +
        (was_frozen ? "; to publish a change, unfreeze it, change it, then sign --resign"
                    : " and unfrozen; sign it again with --resign"));
  }
  // Re-signing a frozen directory would let any key take over a directory that only the
  // key that signed it may open again.
  if (old && was_frozen) {
    return Status::InvalidArgument(
        dir.path + " is still frozen as signed version " + std::to_string(old->version) + " by " +
        old->KeyId() +
        "; unfreeze it with that key first (also after a sign --resign that did not finish)");
  }
  if (!old && a.resign) {
    return Status::InvalidArgument(
        dir.path + " has never been signed" +
        (was_frozen ? " (a sign that did not finish froze it: sign it without --resign)" : ""));
  }
  MV_RETURN_IF_ERROR(CheckBackingWritable(signed_dir));
  {
    // A model just copied in may still be mostly in the kernel's writeback cache.
    ProgressLine progress("Writing back " + dir.path);
    MV_RETURN_IF_ERROR(
        FlushTree(dir.path, [&](uint64_t done, uint64_t total) { progress.Update(done, total); }));
  }
  const bool had_hashes = Exists(signed_dir + "/" + volume::kHashesDir);
  Status frozen = SetControl(dir, "user.modelvault.freeze", {'1'});
  if (frozen.ToErrno() == EBUSY) {
    std::string writer = FindWriter(dir.path);
    return Status::Busy((writer.empty() ? "a file in " + dir.path : writer) +
                        " is open for writing; close it (or stop the writer) and sign again");
  }
  if (frozen.ToErrno() == EROFS) {
    return Status::InvalidArgument(dir.path + " is inside a signed directory, which covers it");
  }
  MV_RETURN_IF_ERROR(frozen);
  Result<volume::Manifest> made = SignFrozen(dir, signed_dir, header, old, *signer);
  if (!made.ok()) {
    Status failure = WithPlaintextNames(made.status(), dir.path, dir.backing);
    if (made.status().ToErrno() == EACCES) {
      failure = failure.Annotate("signing reads and writes the store's backing directory " +
                                 dir.backing + ", which " + WhoCannot() +
                                 " may not; run sign as a user who may (its owner)");
    }
    if (was_frozen) return failure;
    return UndoFreeze(dir, signed_dir, had_hashes, old.has_value(), *signer, failure);
  }
  const volume::Manifest& manifest = *made;
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

struct UnfreezeArgs {
  std::string dir;
  PublisherKeySettings key;
  AuditSettings audit;
};

Status RunUnfreeze(const UnfreezeArgs& a) {
  MV_ASSIGN_OR_RETURN(MountedDir dir, FindMountedDir(a.dir));
  MV_RETURN_IF_ERROR(CheckReadWriteMount(dir, "unfreeze"));
  std::unique_ptr<audit::AuditLog> log;
  if (a.audit.enabled()) {
    MV_ASSIGN_OR_RETURN(volume::VolumeHeader header, volume::ReadVolumeHeader(dir.backing));
    MV_ASSIGN_OR_RETURN(log, OpenAuditLog(a.audit, header));
  }
  MV_ASSIGN_OR_RETURN(auto signer, OpenPublisherKey(a.key));
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> challenge, GetControl(dir, "user.modelvault.challenge"));
  MV_ASSIGN_OR_RETURN(std::vector<uint8_t> signature, signer->Sign(challenge));
  auto backing = BackingDirOf(dir);
  const std::string where = backing.ok() ? backing->substr(dir.backing.size()) : dir.path;
  const std::string key_id = crypto::SigningKeyId(signer->PublicKey());
  const bool never_signed = backing.ok() && !Exists(*backing + "/" + volume::kManifestFile) &&
                            Exists(*backing + "/" + volume::kFrozenMarker);
  Status unfrozen = SetControl(dir, "user.modelvault.unfreeze", signature);
  if (unfrozen.ToErrno() == EINVAL) {
    return Status::InvalidArgument(dir.path +
                                   " is not frozen itself (a directory inside a signed one is "
                                   "unfrozen with it)");
  }
  if (unfrozen.ToErrno() == EACCES || unfrozen.ToErrno() == EPERM) {
    std::string expected;
    if (backing.ok()) {
      if (auto m = volume::ReadManifest(*backing); m.ok()) expected = " (" + m->KeyId() + ")";
    }
    Status refused = Status::PermissionDenied(dir.path + " was signed by another key" + expected +
                                              "; only that key unfreezes it");
    Status recorded =
        AuditRecord(log.get(), "unfreeze_refused", {{"directory", where}, {"key", key_id}});
    return recorded.ok() ? refused : recorded;
  }
  MV_RETURN_IF_ERROR(unfrozen);
  // Chained but unsigned, as `sign` writes its record: the daemon's next one covers it.
  MV_RETURN_IF_ERROR(AuditRecord(log.get(), "unfrozen", {{"directory", where}, {"key", key_id}}));
  if (never_signed) {
    std::cout << "Unfrozen " << dir.path
              << ": a sign that did not finish had frozen it; it was never signed\n";
    return Status::Ok();
  }
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

  auto u = std::make_shared<UnfreezeArgs>();
  CLI::App* unfreeze = app.add_subcommand(
      "unfreeze", "Let a signed directory change again (needs the key that signed it)");
  unfreeze->footer(
      "Examples:\n"
      "  modelvault unfreeze /models/llama-3-8b --signing-key publisher.pem\n"
      "  modelvault unfreeze /models/llama-3-8b --signing-key 'pkcs11:token=release;object=sign' "
      "--pin-file PIN");
  unfreeze->add_option("DIR", u->dir, "A signed directory inside a mounted store")->required();
  AddPublisherKeyOptions(unfreeze, &u->key);
  AddAuditOptions(unfreeze, &u->audit);
  SetAction(unfreeze, [u] { return RunUnfreeze(*u); });
}

}  // namespace modelvault::cli
